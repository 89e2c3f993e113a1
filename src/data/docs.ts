/**
 * The small bundled document set that moss-tiny's Search conversations are about: fictional
 * places, inventions and people (so answers cannot come from anywhere but the documents), each a
 * short English or Chinese passage built from a fact table. Deterministic: the same every run.
 * Written to a folder, it is what the local BM25 Search provider indexes.
 * Not here: real-world facts, long documents.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Fact {
  /** Subject, e.g. 'Lumen Bridge' / '青石桥'. */
  subject: string;
  lang: 'en' | 'zh';
  /** Question phrasings and the short answer. */
  qa: { q: string[]; query: string; answer: string }[];
  text: string;
}

const EN_PLACES = ['Lumen', 'Varo', 'Keswick', 'Orla', 'Tamsin', 'Brevik', 'Calder', 'Doran', 'Elspeth', 'Fennick', 'Galen', 'Harrow'];
const EN_KINDS = ['Bridge', 'Tower', 'Library', 'Museum', 'Lighthouse', 'Observatory'];
const ZH_PLACES = ['青石', '云溪', '白鹭', '松涛', '金川', '碧水', '星河', '玉泉', '枫林', '临川'];
const ZH_KINDS = ['桥', '塔', '图书馆', '博物馆', '灯塔', '天文台'];

/** The fact table (deterministic). */
export function documentFacts(): Fact[] {
  const facts: Fact[] = [];
  let k = 0;
  for (const p of EN_PLACES) {
    for (const kind of EN_KINDS.slice(k % 3, (k % 3) + 2)) {
      const s = `${p} ${kind}`;
      const year = 1800 + ((k * 37) % 200);
      const city = EN_PLACES[(k * 5 + 3) % EN_PLACES.length] + 'ford';
      const builder = ['Ada Marsh', 'Tomas Reid', 'Lena Oakes', 'Pavel Ruiz', 'Mira Holt'][k % 5];
      facts.push({
        subject: s, lang: 'en',
        text: `${s} is a ${kind.toLowerCase()} in the town of ${city}. It was completed in ${year} and was designed by ${builder}.`,
        qa: [
          { q: [`When was ${s} completed?`, `In what year was ${s} finished?`, `What year was ${s} built?`], query: `${s} completed year`, answer: String(year) },
          { q: [`Where is ${s}?`, `In which town is ${s} located?`], query: `${s} location town`, answer: city },
          { q: [`Who designed ${s}?`, `Who was the designer of ${s}?`], query: `${s} designer`, answer: builder },
        ],
      });
      k++;
    }
  }
  for (const p of ZH_PLACES) {
    for (const kind of ZH_KINDS.slice(k % 3, (k % 3) + 2)) {
      const s = `${p}${kind}`;
      const year = 1800 + ((k * 37) % 200);
      const city = ZH_PLACES[(k * 3 + 1) % ZH_PLACES.length] + '镇';
      const builder = ['李明', '王芳', '张伟', '陈静', '赵磊'][k % 5];
      facts.push({
        subject: s, lang: 'zh',
        text: `${s}位于${city}，建成于${year}年，由${builder}设计。`,
        qa: [
          { q: [`${s}是哪一年建成的？`, `${s}建成于哪一年？`, `请问${s}是什么时候建成的？`], query: `${s} 建成 年份`, answer: `${year}年` },
          { q: [`${s}在哪里？`, `${s}位于哪个镇？`], query: `${s} 位于`, answer: city },
          { q: [`${s}是谁设计的？`, `谁设计了${s}？`], query: `${s} 设计`, answer: builder },
        ],
      });
      k++;
    }
  }
  return facts;
}

/** Writes one .txt file per document into `dir` (what the local Search provider indexes). */
export function writeDocuments(dir: string): number {
  mkdirSync(dir, { recursive: true });
  const facts = documentFacts();
  facts.forEach((f, i) => writeFileSync(join(dir, `doc-${String(i).padStart(3, '0')}.txt`), `${f.text}\n`));
  return facts.length;
}
