import { describe, expect, it } from 'vitest';
import { toolVersions } from '../../workers/tool-versions.js';

describe('doctor’s tool versions', () => {
  it('report the native tile codecs with the libraries they link', async () => {
    const tools = await toolVersions();
    const codecs = tools.find((tool) => tool.tool === 'pathgen-codecs');
    expect(codecs?.version).toMatch(/^libjpeg \d+, OpenJPEG 2\.\d+\.\d+$/);
    expect(tools.find((tool) => tool.tool === 'vips')?.version).toMatch(/vips/);
  });

  it('report the OpenSlide that converts slides, from .tools/openslide-venv', async () => {
    const converter = (await toolVersions()).find((tool) => tool.tool === 'openslide-converter');
    expect(converter?.version).toMatch(/^OpenSlide 4\.\d+\.\d+$/);
    expect(converter?.path).toMatch(/\.tools\/openslide-venv\/bin\/python$/);
  });
});
