"""Independent reference for the plugin agreement figures (test/plugins/agreement.test.ts).

For every Calculate/Solve result recorded in ../shared/data/moss-sft{,-heldout}, decide whether the
recorded result is RIGHT, using methods independent of our TypeScript plugins:
  - Calculate: Python's own `ast` parser (with ^ as **) evaluated in mpmath at 50 digits.
    Recorded value right iff it is within 1e-9 relative of the reference; a recorded failure is
    right iff the reference also fails (not an arithmetic expression).
  - Solve: SymPy (parse_expr with implicit multiplication, solve). Recorded `v = value` lines are
    right iff substituting them satisfies every equation to 1e-9; a recorded `No result.` is right
    iff SymPy finds no unique finite solution (no solution, parametric, or unparseable).
Writes test/fixtures/plugins/reference.json keyed by sha1(tool + "\\0" + arg) so that no data text
is copied into the repository. Run: python3 dev/plugin_reference.py  (needs python3-sympy).
"""
import ast, glob, hashlib, json, os, re, sys
import mpmath as mp
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations, implicit_multiplication, convert_xor

mp.mp.dps = 50
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get('MOSS_SHARED', os.path.join(HERE, '..', '..', 'shared'))
FUN = {'sqrt': mp.sqrt, 'sin': mp.sin, 'cos': mp.cos, 'tan': mp.tan, 'asin': mp.asin, 'acos': mp.acos, 'atan': mp.atan,
       'log': mp.log, 'ln': mp.ln, 'log10': mp.log10, 'exp': mp.exp, 'abs': abs, 'factorial': mp.factorial, 'pow': mp.power}
CONST = {'pi': mp.pi, 'e': mp.e}

def ev(n):
    if isinstance(n, ast.Expression): return ev(n.body)
    if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool): return mp.mpf(n.value) if isinstance(n.value, float) else mp.mpf(n.value)
    if isinstance(n, ast.Name) and n.id in CONST: return CONST[n.id]
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)): v = ev(n.operand); return -v if isinstance(n.op, ast.USub) else v
    if isinstance(n, ast.BinOp):
        a, b = ev(n.left), ev(n.right)
        op = type(n.op)
        if op is ast.Add: return a + b
        if op is ast.Sub: return a - b
        if op is ast.Mult: return a * b
        if op is ast.Div: return a / b
        if op is ast.FloorDiv: return mp.floor(a / b)
        if op is ast.Mod: return a - mp.floor(a / b) * b
        if op is ast.Pow:
            if abs(b) > 10000: raise ValueError('big')
            r = mp.power(a, b)
            if isinstance(r, mp.mpc): raise ValueError('complex')
            return r
    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in FUN and not n.keywords:
        return FUN[n.func.id](*[ev(x) for x in n.args])
    raise ValueError('unsupported')

def calc_ref(expr):
    try:
        src = expr.replace('^', '**')
        v = ev(ast.parse(src, mode='eval'))
        if not mp.isfinite(v): return None
        return v
    except Exception:
        return None

FAIL = {"'No result.'", 'No result.', 'No calculation results.'}

def num(s):
    s = s.strip().strip("'")
    try: return mp.mpf(s)
    except Exception: return None

def split_eqs(src):
    out, depth, cur = [], 0, ''
    for ch in src:
        if ch in '([': depth += 1
        if ch in ')]': depth -= 1
        if ch == ';' or (ch == ',' and depth == 0): out.append(cur); cur = ''
        else: cur += ch
    out.append(cur)
    return [s.strip() for s in out if s.strip()]

T = standard_transformations + (implicit_multiplication, convert_xor)
def solve_eqs(src):
    eqs = []
    for part in split_eqs(src):
        if part.count('=') != 1: return None
        l, r = part.split('=')
        eqs.append(parse_expr(l, transformations=T) - parse_expr(r, transformations=T))
    return eqs

def solve_ref_unique(eqs):
    syms = sorted(set().union(*[e.free_symbols for e in eqs]), key=str)
    if not syms: return False
    sol = sp.solve(eqs, syms, dict=True)
    return bool(sol) and all(set(d.keys()) == set(syms) and all(not v.free_symbols for v in d.values()) for d in sol)

def main():
    out = {}
    files = sorted(glob.glob(os.path.join(SHARED, 'data', 'moss-sft*', '*.jsonl')))
    for f in files:
        for line in open(f, encoding='utf8'):
            rec = json.loads(line)
            for t in rec['chat'].values():
                r = t['Tool Responses']
                for m in re.finditer(r'\nCalculate\("(.*?)"\) => (.*)\n', r):
                    arg, rec_s = m.group(1), m.group(2)
                    key = hashlib.sha1(('Calculate\0' + arg).encode()).hexdigest()
                    ref = calc_ref(arg)
                    rv = None if rec_s in FAIL else num(rec_s)
                    if rec_s in FAIL: right = ref is None
                    else: right = ref is not None and rv is not None and abs(rv - ref) <= mp.mpf('1e-9') * max(1, abs(ref))
                    out[key] = {'tool': 'Calculate', 'right': bool(right), 'ref': None if ref is None else mp.nstr(ref, 20)}
                for m in re.finditer(r'\nSolve\("(.*?)"\) =>\n((?:(?!Solve\(|Calculate\(|Search\(|<eor>).*\n)*)', r):
                    arg, body = m.group(1), m.group(2).strip()
                    key = hashlib.sha1(('Solve\0' + arg).encode()).hexdigest()
                    try: eqs = solve_eqs(arg)
                    except Exception: eqs = None
                    if body == 'No result.':
                        try: right = eqs is None or not solve_ref_unique(eqs)
                        except Exception: right = True
                    else:
                        right = False
                        try:
                            vals = {}
                            for ln in body.split('\n'):
                                name, val = ln.split(' = ')
                                vals.setdefault(re.sub(r'_\d+$', '', name), []).append(sp.sympify(val.replace('I', 'I')))
                            syms = sorted(set().union(*[e.free_symbols for e in eqs]), key=str)
                            if {str(s) for s in syms} == set(vals):
                                if all(len(v) == 1 for v in vals.values()):
                                    sub = {s: vals[str(s)][0] for s in syms}
                                    right = all(abs(complex(sp.N(e.subs(sub), 30))) < 1e-9 * max(1, max(abs(complex(x)) for x in sub.values())) for e in eqs)
                                elif len(syms) == 1:
                                    s = syms[0]
                                    right = all(abs(complex(sp.N(eqs[0].subs(s, v), 30))) < 1e-7 * max(1, abs(complex(v))) ** 3 for v in vals[str(s)])
                        except Exception:
                            right = False
                    out[key] = {'tool': 'Solve', 'right': bool(right)}
    dst = os.path.join(HERE, '..', 'test', 'fixtures', 'plugins', 'reference.json')
    with open(dst, 'w') as fh:
        json.dump({'_made_by': 'dev/plugin_reference.py (mpmath 50 digits, SymPy)', 'entries': out}, fh, indent=0, sort_keys=True)
    n = len(out); right = sum(v['right'] for v in out.values())
    print(f'{n} distinct commands, {right} recorded results judged right', file=sys.stderr)

main()
