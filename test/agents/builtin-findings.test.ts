import { describe, expect, it } from 'vitest';
import { createAgents, extractFindings } from '../../activities/agents/index.js';
import { builtinSettings, countTokens } from './agent-test-settings.js';
import { breastSynoptic, colonOcr, lungFreeText, prostateShort } from './report-samples.js';

describe('the built-in findings extractor', () => {
  it('reads a synoptic breast report, leaving out the gross description and staging', () => {
    expect(extractFindings(breastSynoptic)).toEqual([
      'invasive ductal carcinoma',
      'ductal carcinoma in situ',
      'nottingham grade 2',
      'glandular (acinar)/tubular differentiation score 3',
      'lymphovascular invasion not identified',
      'margins free of tumour',
      '1 of 5 lymph nodes involved',
      'comedo necrosis',
      'mitotic rate score 1',
      'microcalcifications present in DCIS',
    ]);
  });

  it('reads free text with lettered parts, negations and abbreviations', () => {
    expect(extractFindings(lungFreeText)).toEqual([
      'adenocarcinoma, acinar predominant',
      'moderately differentiated',
      'visceral pleural invasion present',
      'no lymphovascular invasion',
      'margins free of tumour',
      '0 of 3 lymph nodes involved',
      'focal fibrosis',
      'emphysema',
      'necrosis',
    ]);
  });

  it('reads a microscopic description with invasion depth and node counts', () => {
    expect(extractFindings(colonOcr)).toEqual([
      'moderately differentiated adenocarcinoma',
      'invasion through muscularis propria into the pericolonic fat',
      'perineural invasion present',
      'no lymphovascular invasion',
      'margins free of tumour',
      '2 of 13 lymph nodes involved',
      'extracellular mucin',
      'tumour budding',
    ]);
  });

  it('reads an all-capitals report and gives lower-case findings', () => {
    expect(extractFindings(prostateShort)).toEqual([
      'adenocarcinoma',
      'gleason score 3+4=7',
      'perineural invasion present',
      'no extraprostatic extension',
      'margins free of tumour',
      'high-grade prostatic intraepithelial neoplasia',
    ]);
  });

  it('does not take "no special type" for a negation', () => {
    expect(extractFindings('Invasive ductal carcinoma, no special type. No lymphovascular invasion.')).toEqual([
      'invasive ductal carcinoma, no special type',
      'no lymphovascular invasion',
    ]);
  });

  it('reads every sentence of a diagnosis written under a specimen heading', () => {
    expect(
      extractFindings(
        'Lung, right upper lobe, lobectomy: invasive adenocarcinoma, acinar predominant. Margins negative.',
      ),
    ).toEqual(['invasive adenocarcinoma, acinar predominant', 'margins free of tumour']);
  });

  it('finds nothing in a report without microscopic findings, and is deterministic', () => {
    expect(
      extractFindings('CLINICAL HISTORY: mass.\nGROSS DESCRIPTION: A 3 cm nodule with carcinoma grossly.'),
    ).toEqual([]);
    expect(extractFindings('')).toEqual([]);
    expect(extractFindings(colonOcr)).toEqual(extractFindings(colonOcr));
  });

  it('is the findings agent of the embedded default, free of charge', async () => {
    const agents = createAgents(builtinSettings(), { countTokens, env: {} });
    const result = await agents.findings(prostateShort);
    expect(result).toMatchObject({
      backend: 'builtin',
      model: 'builtin',
      promptVersion: 'builtin-findings/1',
      findings: extractFindings(prostateShort),
      usage: { calls: 1, attempts: 0, promptTokens: 0, completionTokens: 0 },
    });
  });
});
