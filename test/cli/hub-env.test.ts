/**
 * The Hub settings read at the edge (src/cli/hub.ts) follow huggingface_hub's constants.py:
 * HF_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub,
 * HF_TOKEN > HF_TOKEN_PATH > HF_HOME/token, HF_HUB_OFFLINE truthy as 1/ON/YES/TRUE, HF_ENDPOINT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubOptionsFromEnv } from '../../src/cli/hub.js';
import { formatBytes } from '../../src/io/hub/index.js';

test('hub options from the environment, with huggingface_hub defaults', () => {
  const d = hubOptionsFromEnv({ HOME: homedir() });
  assert.deepEqual(d, { endpoint: 'https://huggingface.co', cacheDir: join(homedir(), '.cache', 'huggingface', 'hub'), token: d.token, offline: false });
  assert.equal(hubOptionsFromEnv({ XDG_CACHE_HOME: '/x' }).cacheDir.startsWith('/x/huggingface/hub'), true);
  const home = mkdtempSync(join(tmpdir(), 'moss-hf-'));
  writeFileSync(join(home, 'token'), 'hf_from_file\n');
  assert.deepEqual(hubOptionsFromEnv({ HF_HOME: home }), { endpoint: 'https://huggingface.co', cacheDir: join(home, 'hub'), token: 'hf_from_file', offline: false });
  assert.equal(hubOptionsFromEnv({ HF_HOME: home, HF_TOKEN: 'hf_env' }).token, 'hf_env');
  assert.equal(hubOptionsFromEnv({ HF_HOME: home, HF_TOKEN_PATH: join(home, 'none') }).token, undefined);
  assert.equal(hubOptionsFromEnv({ HF_HOME: home, HF_HUB_CACHE: '/c' }).cacheDir, '/c');
  assert.equal(hubOptionsFromEnv({ HF_HOME: '~/hf' }).cacheDir, join(homedir(), 'hf', 'hub'));
  assert.equal(hubOptionsFromEnv({ HF_ENDPOINT: 'https://hf-mirror.com' }).endpoint, 'https://hf-mirror.com');
  for (const v of ['1', 'true', 'YES', 'on']) assert.equal(hubOptionsFromEnv({ HF_HUB_OFFLINE: v }).offline, true, v);
  for (const v of ['0', 'false', '', 'no']) assert.equal(hubOptionsFromEnv({ HF_HUB_OFFLINE: v }).offline, false, v);
  assert.deepEqual([0, 999, 1000, 21_022_328, 33e9].map(formatBytes), ['0 B', '999 B', '1.0 kB', '21.0 MB', '33.0 GB']);
});
