/**
 * The interactive `moss chat` loop, as OpenMOSS/MOSS moss_cli_demo.py: `<|Human|>: ` prompt,
 * streamed `MOSS:` reply, `clear` forgets the conversation, `stop` exits; plus `/plugins`
 * (show, or set/toggle: `/plugins calculator,solver`, `/plugins +search`), `/save <file>`,
 * `/load <file>` and `/help`. Ctrl-C cancels the running generation only; at an empty prompt a
 * second Ctrl-C exits (so does Ctrl-D / end of input). Works on pipes as well as terminals.
 * Deliberately no history file, completion or multi-line input.
 */
import { createInterface } from 'node:readline';
import { Session } from '../../chat/session.js';
import { ROLE } from '../../chat/format.js';
import { dim, TurnPrinter, useColor } from './render.js';
import { applyPluginList, describeSwitches, type ChatSetup } from './setup.js';
import { runTurn } from './turn.js';

const HELP = [
  'type a message and press Enter; commands:',
  '  clear                       forget the conversation',
  '  stop                        exit',
  '  /plugins                    show the plugins; /plugins calculator,solver sets them; /plugins +search or -solver toggles one; all / none',
  '  /save <file>                save the conversation (JSON)',
  '  /load <file>                load a saved conversation',
  '  Ctrl-C                      cancel the running reply (twice at an empty prompt: exit)',
].join('\n');

/** Loads a session file with the file named in every error. */
export function loadSession(file: string): Session {
  try {
    const s = Session.load(file);
    for (const t of s.state.turns) if (!t || typeof t !== 'object' || Object.values(t).some((v) => typeof v !== 'string')) throw new Error('a turn is not an object of strings');
    return s;
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(file) ? msg : `${file}: ${msg}`, { cause: e });
  }
}

export async function repl(setup: ChatSetup, session: Session): Promise<void> {
  const color = useColor(process.stdout);
  const write = (s: string): void => void process.stdout.write(s);
  const say = (s: string): void => write(`${dim(color, s)}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: `${ROLE.Human.head} ` });
  let running: AbortController | null = null;
  let armed = false; // one Ctrl-C at an empty prompt seen
  let closed = false;
  const onSigint = (): void => {
    if (running) {
      running.abort();
      return;
    }
    if (armed || closed) {
      write('\n');
      rl.close();
      process.exit(0);
    }
    armed = true;
    write('\n');
    say('(press Ctrl-C again to exit, or type stop)');
    prompt();
  };
  rl.on('SIGINT', onSigint); // terminal: readline turns Ctrl-C into this event
  process.on('SIGINT', onSigint); // pipes: the signal itself
  rl.on('close', () => (closed = true));

  say(`MOSS.ts chat with ${setup.loaded.path} — ${describeSwitches(session.state.switches, setup.pluginsConfig)}. /help for commands.`);
  // moss_cli_demo's prompt on a terminal; piped input gets no prompts (clean output)
  const prompt = (): void => {
    if (process.stdin.isTTY && !closed) rl.prompt();
  };
  prompt();
  try {
    for await (const raw of rl) {
      armed = false;
      const line = raw.trim();
      if (line === 'stop') break;
      if (line === 'clear') {
        session.clear();
        if (process.stdout.isTTY) write('\x1b[2J\x1b[H');
        say('(conversation cleared)');
      } else if (line.startsWith('/')) {
        command(line, session, setup, say);
      } else if (line) {
        running = new AbortController();
        const printer = new TurnPrinter(write, color);
        try {
          const t = await runTurn(setup, session, line, running.signal, printer);
          if (!t) say('(cancelled)');
        } catch (e) {
          say(`error: ${(e as Error).message}`);
        } finally {
          running = null;
        }
      }
      prompt();
    }
  } finally {
    process.off('SIGINT', onSigint);
    rl.close();
  }
}

function command(line: string, session: Session, setup: ChatSetup, say: (s: string) => void): void {
  const [cmd, ...rest] = line.split(/\s+/);
  const arg = rest.join(' ');
  try {
    if (cmd === '/help') say(HELP);
    else if (cmd === '/plugins') {
      if (arg) session.state.switches = applyPluginList(session.state.switches, arg);
      say(describeSwitches(session.state.switches, setup.pluginsConfig));
    } else if (cmd === '/save') {
      if (!arg) throw new Error('/save <file>');
      session.save(arg);
      say(`(saved ${session.state.turns.length} turns to ${arg})`);
    } else if (cmd === '/load') {
      if (!arg) throw new Error('/load <file>');
      session.state = loadSession(arg).state;
      say(`(loaded ${session.state.turns.length} turns from ${arg}; ${describeSwitches(session.state.switches, setup.pluginsConfig)})`);
    } else throw new Error(`unknown command ${cmd} (/help lists them)`);
  } catch (e) {
    say(`error: ${(e as Error).message}`);
  }
}
