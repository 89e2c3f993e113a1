/**
 * Synthetic MOSS plugin conversations for training and evaluating small models: arithmetic ->
 * Calculate, equations -> Solve, questions about the bundled documents -> Search, drawing
 * requests -> Text2Image, and chit-chat with no command; English and Chinese, varied phrasings.
 * Results are computed by the real plugins (calculator, solver, local BM25 search) and written in
 * the MOSS layout by src/chat, so training data and inference cannot drift. Deterministic per seed.
 * Not here: LLM-written conversations (an OpenAI-compatible endpoint does that elsewhere).
 */
import { formatResults, type Outcome } from '../chat/commands.js';
import { fieldText, type SftRecord, type TurnFields } from '../chat/format.js';
import { metaInstruction, type PluginSwitches } from '../chat/meta.js';
import { calculate, solve } from '../plugins/index.js';
import { searchLocal } from '../plugins/search/local.js';
import { Generator } from '../tensor/index.js';
import { documentFacts } from './docs.js';
import { arithmeticEval, equationEval, EVAL_CHAT, EVAL_PHRASES, EVAL_THINGS, reservedForEval } from './heldout.js';

export type Kind = 'calc' | 'solve' | 'search' | 'image' | 'chat';

/** What a conversation expects, for evaluation. */
export interface Expectation {
  kind: Kind;
  lang: 'en' | 'zh';
  /** Expected command name (null: no command). */
  command: string | null;
  /** Expected argument (exact, for calc/solve/image). */
  arg: string | null;
  /** The plugin's answer that the final reply should contain. */
  answer: string | null;
}

export interface SynthConversation {
  record: SftRecord;
  expect: Expectation;
}

const pick = <T>(g: Generator, xs: readonly T[]): T => xs[g.int(xs.length)];

/** Meta instructions and the fact table, built once (a generator run draws hundreds of thousands of conversations). */
const metaCache = new Map<string, string>();
function metaFor(sw: PluginSwitches): string {
  const key = JSON.stringify(sw);
  let m = metaCache.get(key);
  if (m === undefined) metaCache.set(key, (m = metaInstruction(sw)));
  return m;
}
let factsCache: ReturnType<typeof documentFacts> | null = null;

/** Search hits per (folder, query): the fact table has few queries, and the index is read from disk per call. */
const hitCache = new Map<string, ReturnType<typeof searchLocal>>();
function searchCached(docsDir: string, query: string) {
  const key = `${docsDir}\u0000${query}`;
  let hits = hitCache.get(key);
  if (!hits) {
    if (hitCache.size > 10_000) hitCache.clear();
    hitCache.set(key, (hits = searchLocal(docsDir, query, 2)));
  }
  return hits;
}

/** An operand of 4–6 digits outside the range reserved for evaluation (2000–999999; ./heldout.ts keeps 1000–1999). */
function wideOperand(g: Generator): string {
  const len = 4 + g.int(3);
  const lo = len === 4 ? 2000 : 10 ** (len - 1);
  return String(lo + g.int(10 ** len - lo));
}

/**
 * A random calculator expression (1-3 operators, sometimes parenthesised). `wide` (synth-v2): a
 * quarter of the operands have 4–6 digits, so a model learns to copy long numbers into the call
 * (without it, moss-tiny v2 wrote `Calculate("19+74")` for "1949+74"); the default draws exactly
 * the stream moss-tiny v1 was trained on (operands 2–999).
 */
export function arithmetic(g: Generator, wide = false, small = 0): string {
  // small > 0: that share of operands is one digit 1-9 (no draw at all when 0, so earlier streams are unchanged)
  const n = () => (small > 0 && g.uniform() < small ? String(1 + g.int(9)) : wide && g.uniform() < 0.25 ? wideOperand(g) : g.uniform() < 0.8 ? String(2 + g.int(98)) : String(10 + g.int(990)));
  const op = () => pick(g, ['+', '-', '*', '/']);
  const r = g.uniform();
  if (r < 0.6) return `${n()}${op()}${n()}`;
  if (r < 0.85) return `(${n()}${pick(g, ['+', '-'])}${n()})${pick(g, ['*', '/'])}${n()}`;
  return `${n()}${op()}${n()}${pick(g, ['+', '-'])}${n()}`;
}

function equation(g: Generator): string {
  const r = g.uniform();
  const v = pick(g, ['x', 'x', 'y', 'a']);
  if (r < 0.6) {
    const a = 2 + g.int(9);
    const x = g.int(21) - 5;
    const b = 1 + g.int(30);
    return `${a}${v}+${b}=${a * x + b}`;
  }
  if (r < 0.8) {
    const [x, y] = [g.int(20), g.int(20)];
    const a = 1 + g.int(5);
    const b = a + 1 + g.int(4); // a != b: the system has one solution
    return `x+y=${x + y};${a}x+${b}y=${a * x + b * y}`;
  }
  const [p, q] = [g.int(9) + 1, g.int(9) + 1];
  return `x^2-${p + q}x+${p * q}=0`;
}

const THINGS_EN = ['a cat sleeping on a sofa', 'a red sunset over the sea', 'a mountain village in winter', 'a robot reading a book', 'a field of sunflowers', 'an old lighthouse at night', 'a panda eating bamboo', 'a city skyline in the rain'];
const THINGS_ZH = ['一只在沙发上睡觉的猫', '海上的红色日落', '冬天的山村', '一个正在看书的机器人', '一片向日葵花田', '夜晚的旧灯塔', '正在吃竹子的熊猫', '雨中的城市天际线'];
const CHAT: { lang: 'en' | 'zh'; q: string[]; a: string[] }[] = [
  { lang: 'en', q: ['Hello!', 'Hi there', 'Hey MOSS'], a: ['Hello! How can I help you today?', 'Hi! What can I do for you?'] },
  { lang: 'en', q: ['Who are you?', 'What is your name?'], a: ['I am MOSS, an AI assistant developed by Fudan University.'] },
  { lang: 'en', q: ['Thank you!', 'Thanks a lot'], a: ['You are welcome! Let me know if there is anything else I can do.'] },
  { lang: 'en', q: ['How are you?', 'How is it going?'], a: ['I am doing well, thank you. How can I help you?'] },
  { lang: 'zh', q: ['你好', '你好！', '嗨'], a: ['你好！有什么可以帮你的吗？', '你好！请问需要什么帮助？'] },
  { lang: 'zh', q: ['你是谁？', '你叫什么名字？'], a: ['我是MOSS，一个由复旦大学开发的人工智能助手。'] },
  { lang: 'zh', q: ['谢谢你', '非常感谢！'], a: ['不客气！如果还有其他问题，随时告诉我。'] },
  { lang: 'zh', q: ['你今天怎么样？', '最近好吗？'], a: ['我很好，谢谢关心。有什么可以帮你的吗？'] },
];

const ALL_ON: PluginSwitches = { innerThoughts: true, search: true, calculator: true, solver: true, text2image: true };
const SWITCH: Record<Kind, keyof PluginSwitches | null> = { calc: 'calculator', solve: 'solver', search: 'search', image: 'text2image', chat: null };

/** 'train' (default) or 'eval': the phrasings and number ranges reserved for evaluation (./heldout.ts). */
export type Split = 'train' | 'eval';

/**
 * One conversation of `kind` (random language and phrasing). `docsDir`: the written document set.
 * `zhShare`: probability of a Chinese conversation (default 0.5; the random stream does not depend on it).
 * `split`: 'eval' draws only what ./heldout.ts reserves; 'train' refuses anything reserved (and
 * draws exactly the stream it always did).
 */
export function synthConversation(g: Generator, kind: Kind, docsDir: string, id: string, zhShare = 0.5, split: Split = 'train'): SynthConversation {
  const ev = split === 'eval';
  const lang: 'en' | 'zh' = g.uniform() < 1 - zhShare ? 'en' : 'zh';
  const en = lang === 'en';
  let human: string;
  let thought: string;
  let command: string | null = null;
  let arg: string | null = null;
  let outcome: Outcome | null = null;
  let reply: (ans: string) => string;
  let answer: string | null = null;
  if (kind === 'calc') {
    arg = ev ? arithmeticEval(g) : arithmetic(g);
    human = pick(g, ev ? EVAL_PHRASES.calc[lang](arg) : en ? [`What is ${arg}?`, `Calculate ${arg}`, `Can you compute ${arg} for me?`, `How much is ${arg}?`, `${arg} = ?`] : [`${arg}等于多少？`, `帮我算一下${arg}`, `请计算${arg}`, `${arg}是多少？`]);
    thought = en ? 'The user wants a calculation, I should use the calculator.' : '用户需要计算，我应该使用计算器。';
    command = 'Calculate';
    answer = calculate(arg);
    outcome = { ok: true, result: { kind: 'value', text: answer } };
    reply = (a) => (en ? pick(g, [`${arg} = ${a}.`, `The result is ${a}.`]) : pick(g, [`${arg}的结果是${a}。`, `计算结果是${a}。`]));
  } else if (kind === 'solve') {
    arg = ev ? equationEval(g) : equation(g);
    human = pick(g, ev ? EVAL_PHRASES.solve[lang](arg) : en ? [`Solve ${arg}`, `Please solve the equation ${arg}`, `Find the solution of ${arg}`] : [`解方程${arg}`, `请帮我解这个方程：${arg}`, `求解${arg}`]);
    thought = en ? 'The user wants to solve an equation, I should use the equation solver.' : '用户需要解方程，我应该使用方程求解器。';
    command = 'Solve';
    const lines = solve(arg);
    answer = lines.join(', ');
    outcome = { ok: true, result: { kind: 'lines', lines } };
    reply = (a) => (en ? `The solution is ${a}.` : `方程的解是${a}。`);
  } else if (kind === 'search') {
    const facts = (factsCache ??= documentFacts()).filter((f) => f.lang === lang);
    const f = pick(g, facts);
    const qa = pick(g, f.qa);
    human = ev ? pick(g, EVAL_PHRASES.search[lang](pick(g, qa.q))) : pick(g, qa.q);
    arg = qa.query;
    thought = en ? 'I need to search for this information.' : '我需要搜索相关信息。';
    command = 'Search';
    const hits = searchCached(docsDir, arg);
    outcome = { ok: true, result: { kind: 'hits', hits } };
    answer = qa.answer;
    reply = (a) => (en ? `According to the search results, the answer is ${a}.` : `根据搜索结果，答案是${a}。`);
  } else if (kind === 'image') {
    const i = g.int(ev ? EVAL_THINGS.en.length : THINGS_EN.length);
    arg = ev ? EVAL_THINGS[lang][i] : en ? THINGS_EN[i] : THINGS_ZH[i];
    human = pick(g, ev ? EVAL_PHRASES.image[lang](arg) : en ? [`Draw ${arg}`, `Please draw a picture of ${arg}`, `Can you paint ${arg}?`] : [`画一幅${arg}的画`, `请帮我画${arg}`, `给我画一张${arg}的图片`]);
    thought = en ? 'The user wants a picture, I should use the text-to-image tool.' : '用户想要一幅画，我应该使用文生图工具。';
    command = 'Text2Image';
    outcome = { ok: true, result: { kind: 'image', files: [] } };
    reply = () => (en ? 'Here is the image I generated for you.' : '这是我为你生成的图片。');
  } else {
    const c = pick(g, (ev ? EVAL_CHAT : CHAT).filter((x) => x.lang === lang));
    human = pick(g, c.q);
    thought = 'None';
    const a = pick(g, c.a);
    reply = () => a;
  }
  const leak = ev ? null : reservedForEval(human, kind, arg);
  if (leak) throw new Error(`synthetic training data: refusing a conversation reserved for evaluation (${leak})`);
  // most conversations see every tool; some only the needed one (the model must read the switches)
  const sw = SWITCH[kind];
  const switches = g.uniform() < 0.8 || !sw ? ALL_ON : { ...ALL_ON, search: false, calculator: false, solver: false, text2image: false, [sw]: true };
  const cmds = command ? [{ name: command, arg: arg! }] : [];
  const turn: TurnFields = {
    Human: fieldText('Human', ` ${human}`),
    'Inner Thoughts': fieldText('Inner Thoughts', ` ${thought}`),
    Commands: fieldText('Commands', ` ${command ? `${command}(${JSON.stringify(arg)})` : 'None'}`),
    'Tool Responses': formatResults(cmds, outcome ? [outcome] : [], true),
    MOSS: fieldText('MOSS', ` ${reply(answer ?? '')}`),
  };
  return {
    record: { conversation_id: id, meta_instruction: metaFor(switches), num_turns: 1, chat: { turn_1: turn }, category: `synthetic.${kind}` },
    expect: { kind, lang, command, arg: kind === 'search' ? null : arg, answer },
  };
}

/**
 * `n` conversations with kinds in the given proportions (default: calc .3, solve .25, search .2, image .1, chat .15),
 * a share `zhShare` of them in Chinese (default 0.5).
 */
export function synthConversations(n: number, seed: number, docsDir: string, mix: Partial<Record<Kind, number>> = {}, zhShare = 0.5, split: Split = 'train'): SynthConversation[] {
  const g = new Generator(seed);
  const w: Record<Kind, number> = { calc: 0.3, solve: 0.25, search: 0.2, image: 0.1, chat: 0.15, ...mix };
  const kinds = Object.keys(w) as Kind[];
  const total = kinds.reduce((s, k) => s + w[k], 0);
  return Array.from({ length: n }, (_, i) => {
    let r = g.uniform() * total;
    let kind = kinds[kinds.length - 1];
    for (const k of kinds) {
      if ((r -= w[k]) < 0) {
        kind = k;
        break;
      }
    }
    return synthConversation(g, kind, docsDir, `synth-${split === 'eval' ? 'eval-' : ''}${seed}-${i}`, zhShare, split);
  });
}
