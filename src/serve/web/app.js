/* global document, localStorage, sessionStorage, fetch, TextDecoder, AbortController */
// The web chat: several conversations (kept in localStorage), streaming replies from
// /v1/chat/completions, MOSS plugin steps (inner thoughts, commands, results) shown as they
// stream, Markdown rendered by ./markdown.js (escape first). Model text only ever reaches the page
// through textContent or the escaped Markdown renderer.
import { renderMarkdown } from './markdown.js';

const config = JSON.parse(document.body.dataset.config || '{}');
const $ = (id) => document.getElementById(id);
const STORE = 'moss-chat-conversations';
const LABELS = { 'Inner Thoughts': '💭 Thoughts', Commands: '⚙️ Commands', Results: '📋 Results' };
const PLUGINS = [['search', 'Web search'], ['calculator', 'Calculator'], ['solver', 'Equation solver'], ['text2image', 'Text-to-image'], ['inner_thoughts', 'Inner thoughts']];

const convs = JSON.parse(localStorage.getItem(STORE) || '[]');
let current = convs[0]?.id;
let controller = null;

const save = () => localStorage.setItem(STORE, JSON.stringify(convs));
const conv = () => convs.find((c) => c.id === current);

function newConversation() {
  const c = { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, title: 'New chat', messages: [] };
  convs.unshift(c);
  current = c.id;
  save();
  render();
}

function renderList() {
  const ul = $('conversations');
  ul.replaceChildren(...convs.map((c) => {
    const li = document.createElement('li');
    li.textContent = c.title;
    li.dataset.id = c.id;
    if (c.id === current) li.className = 'active';
    li.onclick = () => { if (!controller) { current = c.id; render(); } };
    return li;
  }));
}

function stepsBox(steps) {
  const box = document.createElement('div');
  box.className = 'steps';
  for (const s of steps) {
    const d = document.createElement('div');
    d.className = 'step';
    d.dataset.field = s.field;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = `${LABELS[s.field] ?? s.field}: `;
    const body = document.createElement('span');
    body.textContent = s.text;
    d.append(label, body);
    box.append(d);
  }
  return box;
}

function messageNode(m) {
  const div = document.createElement('div');
  div.className = `msg ${m.role}`;
  if (m.role === 'user') div.textContent = m.content;
  else {
    if (m.steps?.length) div.append(stepsBox(m.steps));
    const body = document.createElement('div');
    body.className = 'content';
    body.innerHTML = renderMarkdown(m.content || ''); // escaped first by renderMarkdown
    div.append(body);
  }
  return div;
}

function renderMessages() {
  const c = conv();
  $('messages').replaceChildren(...(c ? c.messages.map(messageNode) : []));
  $('messages').scrollTop = $('messages').scrollHeight;
}

function render() {
  renderList();
  renderMessages();
}

function pluginChoice() {
  return [...document.querySelectorAll('#plugins input:checked')].map((i) => i.value);
}

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api-key').value || sessionStorage.getItem('moss-key');
  if (key) { h.authorization = `Bearer ${key}`; sessionStorage.setItem('moss-key', key); }
  return h;
}

async function send(text) {
  if (!conv()) newConversation();
  const c = conv();
  c.messages.push({ role: 'user', content: text });
  if (c.title === 'New chat') c.title = text.slice(0, 40);
  const reply = { role: 'assistant', content: '', steps: [] };
  c.messages.push(reply);
  save();
  render();
  let node = $('messages').lastElementChild;
  controller = new AbortController();
  $('stop').hidden = false;
  $('send').disabled = true;
  const plugins = pluginChoice();
  const body = { model: config.model, stream: true, messages: c.messages.slice(0, -1).map((m) => ({ role: m.role, content: m.content, ...(m.fields ? { moss_fields: m.fields } : {}) })), ...(plugins.length ? { moss_plugins: plugins } : {}) };
  try {
    const res = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal });
    if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error?.message ?? `HTTP ${res.status}`);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
        const j = JSON.parse(ev.slice(6));
        if (j.error) throw new Error(j.error.message);
        const d = j.choices?.[0]?.delta;
        if (!d) continue;
        if (d.reasoning_content) {
          const last = reply.steps[reply.steps.length - 1];
          if (last && last.field === d.moss_field) last.text += d.reasoning_content;
          else reply.steps.push({ field: d.moss_field ?? 'Inner Thoughts', text: d.reasoning_content });
        }
        if (d.content) reply.content += d.content;
        if (d.moss_fields) reply.fields = d.moss_fields; // the turn as the model saw it, sent back with the next question
        const fresh = messageNode(reply);
        node.replaceWith(fresh);
        node = fresh;
      }
      $('messages').scrollTop = $('messages').scrollHeight;
    }
  } catch (e) {
    if (e.name !== 'AbortError') {
      const err = document.createElement('div');
      err.className = 'msg error';
      err.textContent = `Error: ${e.message}`;
      $('messages').append(err);
    }
  } finally {
    controller = null;
    $('stop').hidden = true;
    $('send').disabled = false;
    save();
  }
}

// --- wiring
for (const [value, label] of PLUGINS) {
  const l = document.createElement('label');
  const i = document.createElement('input');
  i.type = 'checkbox';
  i.value = value;
  l.append(i, ` ${label}`);
  l.style.display = 'block';
  $('plugins').append(l);
}
$('key-row').hidden = !config.auth;
$('new-chat').onclick = () => { if (!controller) newConversation(); };
$('stop').onclick = () => controller?.abort();
$('composer').onsubmit = (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text || controller) return;
  $('input').value = '';
  void send(text);
};
$('input').addEventListener('keydown', (e) => {
  // Enter sends, but not while an IME (Chinese input) is composing
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});
if (!convs.length) newConversation();
else render();
