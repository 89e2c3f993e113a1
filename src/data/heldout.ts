/**
 * What is reserved for evaluation in the synthetic tool-use data (held out by construction, not
 * by seed): phrasing templates, drawing subjects and chit-chat lines that the training split never
 * uses, and number ranges that the training generator never draws (arithmetic with an operand of
 * 1000–1999; linear equations with a coefficient 11–19; 2×2 systems with solutions 20–29;
 * quadratics with roots 10–15; synth-v2 also draws around them — operands 2000–999999, coefficients
 * 20–99, solutions 30–79, roots 16–40 — so that the split tests unseen values, not unseen lengths). `reservedForEval` names what a training conversation would leak,
 * and the generator refuses to emit one. moss-tiny's training data (TRAINING_SETS) was drawn
 * before this split existed and meets the same rules (the training ranges are unchanged), which
 * `moss eval tools` double-checks with an exact overlap check against every training file.
 * Not here: drawing conversations (./synth-plugins.ts), scoring (src/eval).
 */
import type { Generator } from '../tensor/index.js';

type Lang = 'en' | 'zh';
type Phrases = Record<Lang, (x: string) => string[]>;

/** Human phrasings reserved for evaluation, per kind and language (`x`: expression, equation, thing or question). */
export const EVAL_PHRASES: Record<'calc' | 'solve' | 'image' | 'search', Phrases> = {
  calc: {
    en: (a) => [`Work out ${a}`, `What do you get for ${a}?`, `Please evaluate ${a}.`, `I need the value of ${a}`],
    zh: (a) => [`${a}得多少？`, `算一算${a}`, `请问${a}的值是多少？`, `${a}的计算结果是什么？`],
  },
  solve: {
    en: (e) => [`What value of the unknown satisfies ${e}?`, `Solve for the unknown: ${e}`, `Can you solve ${e}?`],
    zh: (e) => [`${e}，未知数是多少？`, `帮我求解方程${e}`, `这个方程怎么解：${e}`],
  },
  image: {
    en: (t) => [`Make me an image of ${t}`, `Could you sketch ${t}?`, `I would like a picture showing ${t}`],
    zh: (t) => [`帮我生成一张${t}的图`, `能画一下${t}吗？`, `我想要一张关于${t}的图片`],
  },
  search: {
    en: (q) => [`Quick question: ${q}`, `Could you look something up for me? ${q}`],
    zh: (q) => [`请问，${q}`, `我想查一下：${q}`],
  },
};

/** Drawing subjects reserved for evaluation (en[i] and zh[i] are the same subject). */
export const EVAL_THINGS: Record<Lang, string[]> = {
  en: ['a dog running on the beach', 'a castle on a hill', 'a bowl of fruit on a table', 'a rocket launching into space'],
  zh: ['一只在海滩上奔跑的狗', '山坡上的城堡', '桌上的一碗水果', '正在发射的火箭'],
};

/** Chit-chat lines reserved for evaluation, with the training set's answers. */
export const EVAL_CHAT: { lang: Lang; q: string[]; a: string[] }[] = [
  { lang: 'en', q: ['Good morning!', 'Hey, anyone there?'], a: ['Hello! How can I help you today?'] },
  { lang: 'en', q: ['Who am I talking to?', 'Tell me who you are.'], a: ['I am MOSS, an AI assistant developed by Fudan University.'] },
  { lang: 'zh', q: ['早上好！', '在吗？'], a: ['你好！有什么可以帮你的吗？'] },
  { lang: 'zh', q: ['请介绍一下你自己', '我在和谁说话？'], a: ['我是MOSS，一个由复旦大学开发的人工智能助手。'] },
];

const pick = <T>(g: Generator, xs: readonly T[]): T => xs[g.int(xs.length)];

/** Arithmetic with one operand of 1000–1999 (training draws 2–999, and synth-v2 also 2000–999999). */
export function arithmeticEval(g: Generator): string {
  const big = String(1000 + g.int(1000));
  const small = String(2 + g.int(98));
  const op = pick(g, ['+', '-', '*', '/']);
  return g.uniform() < 0.5 ? `${big}${op}${small}` : `${small}${op}${big}`;
}

/** Equations in the reserved ranges: linear (coefficient 11–19), systems (solutions 20–29), quadratics (roots 10–15). */
export function equationEval(g: Generator): string {
  const r = g.uniform();
  if (r < 0.6) {
    const a = 11 + g.int(9);
    const x = g.int(21) - 5;
    const b = 1 + g.int(30);
    return `${a}${pick(g, ['x', 'y', 'a'])}+${b}=${a * x + b}`;
  }
  if (r < 0.8) {
    const [x, y] = [20 + g.int(10), 20 + g.int(10)];
    const a = 1 + g.int(5);
    const b = a + 1 + g.int(4);
    return `x+y=${x + y};${a}x+${b}y=${a * x + b * y}`;
  }
  const [p, q] = [10 + g.int(6), 10 + g.int(6)];
  return `x^2-${p + q}x+${p * q}=0`;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Each reserved template as an anchored regex (its slot matches anything). */
const TEMPLATE_RES: RegExp[] = Object.values(EVAL_PHRASES).flatMap((p) => [...p.en('\u0000'), ...p.zh('\u0000')].map((t) => new RegExp(`^${esc(t).replace('\u0000', '[\\s\\S]+')}$`)));
const CHAT_LINES = new Set(EVAL_CHAT.flatMap((c) => c.q));
const THINGS = new Set([...EVAL_THINGS.en, ...EVAL_THINGS.zh]);

/**
 * Why a conversation (its human text and command argument) falls in what is reserved for
 * evaluation, or null when it does not.
 */
export function reservedForEval(human: string, kind: string, arg: string | null): string | null {
  if (TEMPLATE_RES.some((re) => re.test(human))) return `the phrasing of "${human}" is an evaluation template`;
  if (CHAT_LINES.has(human)) return `"${human}" is an evaluation chit-chat line`;
  if (arg === null) return null;
  if (kind === 'image' && THINGS.has(arg)) return `"${arg}" is an evaluation drawing subject`;
  if (kind === 'calc' && (arg.match(/\d+/g) ?? []).some((n) => Number(n) >= 1000 && Number(n) <= 1999)) return `${arg} has an operand of 1000–1999`;
  if (kind === 'solve') {
    const lin = /^(\d+)[a-z]\+\d+=-?\d+$/.exec(arg);
    if (lin && Number(lin[1]) >= 11 && Number(lin[1]) <= 19) return `${arg} has a coefficient of 11–19`;
    const sys = /^x\+y=(\d+);(\d+)x\+(\d+)y=(-?\d+)$/.exec(arg);
    if (sys) {
      const [s, a, b, t] = sys.slice(1).map(Number);
      const y = (t - a * s) / (b - a);
      if ([s - y, y].some((v) => v >= 20 && v <= 29)) return `${arg} has a solution of 20–29`;
    }
    const quad = /^x\^2-(\d+)x\+(\d+)=0$/.exec(arg);
    if (quad) {
      const [s, m] = [Number(quad[1]), Number(quad[2])];
      const d = Math.sqrt(s * s - 4 * m);
      if ([(s - d) / 2, (s + d) / 2].some((v) => v >= 10 && v <= 15)) return `${arg} has a root of 10–15`;
    }
  }
  return null;
}
