/* global process */
/**
 * Preloaded into every `npm test` process (node --import): points TMPDIR at a fresh folder of its
 * own and removes it when the process exits, so the scratch folders that tests make with
 * mkdtempSync(tmpdir()) — checkpoints, servers' history, datasets, CLI outputs — are not left in
 * /tmp (a full run left ~250 folders, ~200 MB, before this). Child processes a test spawns inherit
 * the folder. A test file killed by a signal still leaves its folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'moss-test-'));
process.env.TMPDIR = dir;
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
