/**
 * Scalar math the ref kernels share: erf (W. J. Cody's rational Chebyshev approximations,
 * CALERF from netlib SPECFUN, ~1e-16 relative in double) and the activation formulas with their
 * derivatives, exactly as PyTorch defines them:
 *   gelu(x)     = 0.5 x (1 + erf(x / sqrt 2))                       (approximate='none')
 *   gelu_new(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (approximate='tanh')
 *   silu(x)     = x sigmoid(x)
 * Everything is evaluated in double; kernels round once when they store.
 */

const A = [3.1611237438705655, 113.86415415105016, 377.485237685302, 3209.3775891384694, 0.18577770618460315];
const B = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.2368334391704];
const C = [
  0.5641884969886701, 8.883149794388377, 66.11919063714163, 298.6351381974001, 881.952221241769,
  1712.0476126340707, 2051.0783778260716, 1230.3393547979972, 2.1531153547440383e-8,
];
const D = [
  15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903, 3290.7992357334597,
  4362.619090143247, 3439.3676741437216, 1230.3393548037495,
];
const P = [0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275, 6.587491615298378e-4, 0.016315387137302097];
const Q = [2.568520192289822, 1.8729528499234604, 0.5279051029514285, 0.06051834131244132, 0.0023352049762686918];
const SQRPI = 0.5641895835477563; // 1/sqrt(pi)

/** erfc(y) for y > 0.46875 (Cody's second and third intervals). */
function erfcPos(y: number): number {
  let r: number;
  if (y <= 4) {
    let num = C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]) * y;
      den = (den + D[i]) * y;
    }
    r = (num + C[7]) / (den + D[7]);
  } else {
    if (y >= 27) return 0;
    const z = 1 / (y * y);
    let num = P[5] * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]) * z;
      den = (den + Q[i]) * z;
    }
    r = (SQRPI - (z * (num + P[4])) / (den + Q[4])) / y;
  }
  // exp(-y^2) split to keep precision: y^2 = ysq^2 + del
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del) * r;
}

/** The error function, accurate to about 1e-16 (double). */
export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) {
    const z = y > 1.11e-16 ? x * x : 0;
    let num = A[4] * z;
    let den = z;
    for (let i = 0; i < 3; i++) {
      num = (num + A[i]) * z;
      den = (den + B[i]) * z;
    }
    return (x * (num + A[3])) / (den + B[3]);
  }
  if (x !== x) return x;
  const r = 1 - erfcPos(y);
  return x < 0 ? -r : r;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const K_TANH = Math.sqrt(2 / Math.PI);
const C3 = 0.044715;

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}
export function geluGrad(x: number): number {
  return 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(K_TANH * (x + C3 * x * x * x)));
}
export function geluNewGrad(x: number): number {
  const t = Math.tanh(K_TANH * (x + C3 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K_TANH * (1 + 3 * C3 * x * x);
}
export function silu(x: number): number {
  return x * sigmoid(x);
}
export function siluGrad(x: number): number {
  const s = sigmoid(x);
  return s * (1 + x * (1 - s));
}
