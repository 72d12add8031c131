import type { TcgaProjectCode } from '../../activities/tcga/tcga-projects.js';
import type { DemoTissueKind } from '../synthetic/slides/tissue-kinds.js';

// Short pathology reports for the demo's slides, in the styles TCGA reports come in (a synoptic
// checklist, lettered free text, a microscopic description). Each matches what its slide shows, so
// the findings the built-in agent reads from it (diagnosis, grade, margins, nodes) fit the
// patches. Details vary with the random source, so a cohort's reports are not all alike.

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function between(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

function size(random: Random, low: number, high: number): string {
  return (low + random() * (high - low)).toFixed(1);
}

function breastCarcinoma(random: Random): string {
  const side = pick(random, ['Left', 'Right']);
  const nodes = between(random, 2, 6);
  const involved = between(random, 0, Math.min(3, nodes));
  const closest = between(random, 2, 9);
  return `SURGICAL PATHOLOGY REPORT

CLINICAL HISTORY: ${between(random, 38, 79)}-year-old woman with a ${side.toLowerCase()} breast mass.

FINAL DIAGNOSIS:
${side} breast, ${pick(random, ['lumpectomy', 'simple mastectomy', 'modified radical mastectomy'])}:
- Invasive ductal carcinoma, Nottingham grade 3 (of 3), growing in solid sheets.
- Marked nuclear pleomorphism; ${between(random, 14, 32)} mitoses per 10 high-power fields.
- ${pick(random, ['Focal tumour necrosis.', 'No tumour necrosis.'])}

SYNOPTIC REPORT
Histologic Type: Invasive ductal carcinoma
Histologic Grade: Nottingham grade 3
Tumor Size: ${size(random, 1.2, 4.5)} cm
Lymphovascular Invasion: ${pick(random, ['Present', 'Not identified'])}
Margins: Uninvolved by invasive carcinoma; closest margin (${pick(random, ['deep', 'superior', 'inferior'])}) ${closest} mm
Regional Lymph Nodes: ${involved} of ${nodes} involved by metastatic carcinoma
`;
}

function lungAdenocarcinoma(random: Random): string {
  const nodes = between(random, 2, 7);
  return `DIAGNOSIS:
A. Lung, ${pick(random, ['right upper', 'right lower', 'left upper', 'left lower'])} lobe, lobectomy:
   Adenocarcinoma, solid predominant, poorly differentiated, measuring ${size(random, 1.5, 5)} cm.
   ${pick(random, ['Visceral pleural invasion is present.', 'No visceral pleural invasion is identified.'])} Lymphovascular invasion is present.
   The bronchial and vascular margins are free of tumor.
B. Lymph nodes, level ${pick(random, ['4R', '7', '10L', '11R'])}, excision:
   ${nodes} lymph nodes, negative for carcinoma (0/${nodes}).
COMMENT: The tumor grows in solid sheets of cells with enlarged, pleomorphic nuclei and focal necrosis.
`;
}

function liposarcoma(random: Random): string {
  const site = pick(random, ['Retroperitoneum', 'Left thigh', 'Right thigh', 'Paratesticular soft tissue']);
  return `FINAL DIAGNOSIS:
${site}, excision:
- Well-differentiated liposarcoma (atypical lipomatous tumour), FNCLCC grade 1 (of 3).
- Lobules of mature adipocytes of variable size separated by fibrous septa with scattered atypical hyperchromatic stromal cells.
- Tumour size: ${size(random, 6, 24)} cm.
- Necrosis: Not identified.
- Margins: ${pick(random, ['Negative; closest margin 4 mm.', 'Negative; closest margin 1.2 cm.', 'Focally involved at the deep margin.'])}
COMMENT: MDM2 amplification was confirmed by FISH.
`;
}

function colorectalAdenocarcinoma(random: Random, rectum: boolean): string {
  const nodes = between(random, 12, 24);
  const involved = between(random, 0, 4);
  const specimen = rectum
    ? 'Rectum, low anterior resection'
    : pick(random, ['Sigmoid colon, resection', 'Right colon, hemicolectomy', 'Transverse colon, resection']);
  return `Specimen submitted: ${specimen.split(',')[0]!.toLowerCase()}
MICROSCOPIC DESCRIPTION: Sections show a moderately differentiated adenocarcinoma forming irregular glands,
invading through the muscularis propria into the ${rectum ? 'perirectal' : 'pericolonic'} fat. Lymphovascular invasion
is ${pick(random, ['present', 'not seen'])}. Tumour budding is low. ${involved}/${nodes} lymph nodes contain metastatic adenocarcinoma.
The proximal, distal and radial margins are negative.
FINAL DIAGNOSIS: ${specimen}: adenocarcinoma, moderately differentiated (grade 2 of 3).
`;
}

/** A report for a slide of `kind` attributed to `project`. */
export function demoReport(kind: DemoTissueKind, project: TcgaProjectCode, random: Random): string {
  switch (kind) {
    case 'dense-tumour':
      return project === 'TCGA-LUAD' ? lungAdenocarcinoma(random) : breastCarcinoma(random);
    case 'adipose':
      return liposarcoma(random);
    case 'glandular':
      return colorectalAdenocarcinoma(random, project === 'TCGA-READ');
  }
}
