import type { TcgaProjectCode } from '../../../activities/tcga/tcga-projects.js';
import type { TissueStyle } from './tissue-style.js';

// The tissue kinds of the demo cohort. Each is drawn so that the model-free measurements the
// built-in agents describe from (nuclear density and size, eosin, fat, lumina) tell it apart, and
// so the captions of one kind differ from another's: a CLIP trained on the demo export has a
// signal to learn. Values are in µm and optical density (activities/histology/description-thresholds.ts
// has the levels they are chosen against).

export const demoTissueKinds = ['dense-tumour', 'adipose', 'glandular'] as const;
export type DemoTissueKind = (typeof demoTissueKinds)[number];

export interface DemoTissueKindInfo {
  kind: DemoTissueKind;
  /** A class name for zero-shot prompts such as "An H&E image of {className}." */
  className: string;
  /**
   * How the built-in describe agent puts this kind's cellularity and its telling feature, in its own
   * sentences: the zero-shot prompt for a CLIP trained on the demo's captions (`pathgen demo --train`).
   */
  captionPrompt: string;
  /** Projects slides of this kind are attributed to, used in turn. */
  projects: readonly TcgaProjectCode[];
  style: TissueStyle;
}

export const demoTissueKindInfo: Record<DemoTissueKind, DemoTissueKindInfo> = {
  // A solid sheet of crowded, enlarged, pleomorphic nuclei in eosinophilic cytoplasm: ≈ 6,500 nuclei/mm².
  'dense-tumour': {
    kind: 'dense-tumour',
    className: 'densely cellular carcinoma',
    captionPrompt: 'The tissue is densely cellular, with closely packed nuclei. The nuclei are mostly enlarged.',
    projects: ['TCGA-BRCA', 'TCGA-LUAD'],
    style: {
      stroma: { eosin: 0.3, hematoxylin: 0.05, fibres: 0.15 },
      nuclei: { spacingUm: 13.5, presence: 1, radiusUm: 5.8, radiusSpread: 0.4, aspect: [0.7, 1], hematoxylin: 0.8 },
    },
  },
  // Mature fat: lobules of large clear vacuoles between thin, pale septa with few flattened nuclei,
  // divided by fibrous bands.
  adipose: {
    kind: 'adipose',
    className: 'adipose tissue',
    captionPrompt:
      'Nuclei are sparse and widely scattered. Adipose tissue occupies much of the field, as large, clear, rounded vacuoles.',
    projects: ['TCGA-SARC'],
    style: {
      stroma: { eosin: 0.065, hematoxylin: 0.045, fibres: 0.15 },
      nuclei: {
        spacingUm: 20,
        presence: 0.5,
        radiusUm: 3.2,
        radiusSpread: 0.15,
        aspect: [0.35, 0.6],
        hematoxylin: 0.7,
      },
      fat: { spacingUm: 62, radiusUm: [24, 29.5], septumUm: 3 },
      septa: { lobuleUm: 2000, widthUm: 28, eosin: 0.22, hematoxylin: 0.05 },
    },
  },
  // Glands: lumina (slits and round acini) ringed by epithelium with crowded nuclei, in a stroma with few.
  glandular: {
    kind: 'glandular',
    className: 'gland-forming adenocarcinoma',
    captionPrompt: 'The tissue is moderately cellular. A few small clear spaces are enclosed within the tissue.',
    projects: ['TCGA-COAD', 'TCGA-READ'],
    style: {
      stroma: { eosin: 0.15, hematoxylin: 0.04, fibres: 0.35 },
      nuclei: {
        spacingUm: 11,
        presence: 0.22,
        radiusUm: 3.6,
        radiusSpread: 0.15,
        aspect: [0.45, 0.75],
        hematoxylin: 0.75,
      },
      glands: {
        spacingUm: 66,
        slitUm: [36, 9],
        acinusRadiusUm: [9, 12],
        epitheliumUm: 14,
        epithelium: { eosin: 0.11, hematoxylin: 0.1, nucleusPresence: 0.95 },
      },
    },
  },
};
