/**
 * Calculator goldens. Expected strings are the results recorded in MOSS's own SFT data (Python
 * evaluated them), except where noted as exact values checked by hand or Python's big integers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calculate } from '../../src/plugins/calculator.js';
import { pyRepr } from '../../src/plugins/pyfloat.js';

const RECORDED: [string, string][] = [
  ['(18/4)^2', '20.25'], ['8400/7', '1200.0'], ['12*3', '36'], ['(40*0.25 + 40*0.35)/(40+40)', '0.3'], ['0^15', '0'],
  ['12*sqrt(3)', '20.784609690826528'], ['(15+27)*(5*60)', '12600'], ['160000/1800', '88.88888888888889'],
  ['(sqrt(3)/4)*8^2', '27.712812921102035'], ['(35/60)*100', '58.333333333333336'], ['8000/4', '2000.0'],
  ['((5**2)+(7**2))**(1/2)+5', '13.602325267042627'], ['(24/4)^2', '36.0'], ['1*2500+5*2500', '15000'],
  ['sqrt(2*100/20)', '3.1622776601683795'], ['6*25**2', '3750'], ['sqrt(100)', '10.0'], ['1/5', '0.2'],
  ['32*3/7', '13.714285714285714'], ['sqrt(2400/6)', '20.0'],
  ['(4/3)*pi*(5.53^3)', '708.3762682857433'], ['3.33e8*0.002', '666000.0'],
  ['30 // 1^2', '30'], ['1400/(3.6/1000)', '388888.8888888889'], ['pi*(8*8-7*7)', '47.12388980384689'], ['0b01101000', '104'],
  ['(732673-710231)/710231', '0.031598170172802933'], ['19870000-30480000', '-10610000'], ['42/7/3+1', '3.0'],
  ['sqrt(216)-1', '13.696938456699069'], ['((37.07-27.98)/27.98)*100', '32.487491065046456'], ['1^0', '1'],
  ['(12/2)*(9/2)*pi', '84.82300164692441'], ['8000*4/7', '4571.428571428572'], ['140*2/5', '56.0'],
];

test('calculator matches results recorded in the MOSS data', () => {
  // Exact string match, except that Python rounds every decimal literal and step to a double while
  // we compute exactly: then both must be floats agreeing to 1e-14 relative.
  for (const [expr, want] of RECORDED) {
    const got = calculate(expr);
    if (got === want) continue;
    assert.ok(got.includes('.') && want.includes('.') && Math.abs(Number(got) - Number(want)) <= 1e-14 * Math.abs(Number(want)), `${expr}: ${got} vs ${want}`);
  }
});

test('transcendental results agree with Python to the last few ulps (libm differs)', () => {
  // Recorded: (5*15^2)/(4*tan(pi/5)) => '387.10741513251753'
  assert.ok(Math.abs(Number(calculate('(5*15^2)/(4*tan(pi/5))')) - 387.10741513251753) < 1e-11);
});

test('exact where Python floats drift (recorded 4.300000000000001, 220.00000000000003, 4.999999999999999)', () => {
  assert.equal(calculate('29-24.7'), '4.3');
  assert.equal(calculate('400*(1-0.45)/1'), '220.0');
  assert.equal(calculate('125^(1/3)'), '5.0');
  assert.equal(calculate('143.4 / 17.13'), '8.371278458844133'); // recorded ...134: 143.4 and 17.13 are rounded first in Python
});

test('big integers, factorial, percent, modulo, precedence', () => {
  assert.equal(calculate('2^100'), '1267650600228229401496703205376'); // Python: 2**100
  assert.equal(calculate('20!'), '2432902008176640000');
  assert.equal(calculate('factorial(5)+comb(5,2)'), '130');
  assert.equal(calculate('50%*200'), '100.0');
  assert.equal(calculate('10 % 3'), '1');
  assert.equal(calculate('-2**2'), '-4');
  assert.equal(calculate('2**-1'), '0.5');
  assert.equal(calculate('2(3+4)'), '14');
  assert.equal(calculate('log(8, 2)'), '3.0');
  assert.equal(calculate('[(41-10)(41-20)]'), '651');
  assert.throws(() => calculate('1/0'), /division by zero/);
  assert.throws(() => calculate('2 3'), /unexpected/);
  assert.throws(() => calculate('sqrt(-1)'), /domain/);
});

test('Python float repr formatting', () => {
  assert.equal(pyRepr(1e16), '1e+16');
  assert.equal(pyRepr(1.5e-5), '1.5e-05');
  assert.equal(pyRepr(123456789012345.6), '123456789012345.6');
  assert.equal(pyRepr(0.0001), '0.0001');
  assert.equal(pyRepr(-2.5), '-2.5');
  assert.equal(pyRepr(1e22), '1e+22');
});
