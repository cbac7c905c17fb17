import fs from 'node:fs';
import path from 'node:path';
import { BUILD_VERSION } from '@fog/protocol';
import { createHttpMetrics } from './metrics';

const packageVersion = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;

describe('fog_build_info', () => {
  it('names the version of the root package.json', () => {
    expect(BUILD_VERSION).toBe(packageVersion);
    expect(BUILD_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('is exported by every app registry as one sample equal to 1', async () => {
    const text = await createHttpMetrics('storage').registry.metrics();
    const lines = text.split('\n').filter((l) => l.startsWith('fog_build_info{'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`version="${packageVersion}"`);
    expect(lines[0]).toContain('app="storage"');
    expect(lines[0]).toMatch(/ 1$/);
    expect(text).toContain('# TYPE fog_build_info gauge');
  });
});
