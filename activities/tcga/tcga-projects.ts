// The 31 TCGA projects of PathGen's candidate list: every TCGA project with diagnostic slides except
// GBM (absent from the list) and LAML (a leukaemia, no solid-tissue slides). The organ names the
// tissue a caption should mention; the cancer name is what a hedged diagnosis may say.

export interface TcgaProject {
  code: TcgaProjectCode;
  cancer: string;
  organ: string;
}

export const tcgaProjectCodes = [
  'TCGA-ACC',
  'TCGA-BLCA',
  'TCGA-BRCA',
  'TCGA-CESC',
  'TCGA-CHOL',
  'TCGA-COAD',
  'TCGA-DLBC',
  'TCGA-ESCA',
  'TCGA-HNSC',
  'TCGA-KICH',
  'TCGA-KIRC',
  'TCGA-KIRP',
  'TCGA-LGG',
  'TCGA-LIHC',
  'TCGA-LUAD',
  'TCGA-LUSC',
  'TCGA-MESO',
  'TCGA-OV',
  'TCGA-PAAD',
  'TCGA-PCPG',
  'TCGA-PRAD',
  'TCGA-READ',
  'TCGA-SARC',
  'TCGA-SKCM',
  'TCGA-STAD',
  'TCGA-TGCT',
  'TCGA-THCA',
  'TCGA-THYM',
  'TCGA-UCEC',
  'TCGA-UCS',
  'TCGA-UVM',
] as const;

export type TcgaProjectCode = (typeof tcgaProjectCodes)[number];

const projects: Record<TcgaProjectCode, Omit<TcgaProject, 'code'>> = {
  'TCGA-ACC': { cancer: 'adrenocortical carcinoma', organ: 'adrenal gland' },
  'TCGA-BLCA': { cancer: 'urothelial carcinoma', organ: 'urinary bladder' },
  'TCGA-BRCA': { cancer: 'invasive breast carcinoma', organ: 'breast' },
  'TCGA-CESC': { cancer: 'cervical squamous cell carcinoma or endocervical adenocarcinoma', organ: 'cervix' },
  'TCGA-CHOL': { cancer: 'cholangiocarcinoma', organ: 'bile duct' },
  'TCGA-COAD': { cancer: 'colon adenocarcinoma', organ: 'colon' },
  'TCGA-DLBC': { cancer: 'diffuse large B-cell lymphoma', organ: 'lymph node' },
  'TCGA-ESCA': { cancer: 'esophageal carcinoma', organ: 'esophagus' },
  'TCGA-HNSC': { cancer: 'head and neck squamous cell carcinoma', organ: 'head and neck' },
  'TCGA-KICH': { cancer: 'chromophobe renal cell carcinoma', organ: 'kidney' },
  'TCGA-KIRC': { cancer: 'clear cell renal cell carcinoma', organ: 'kidney' },
  'TCGA-KIRP': { cancer: 'papillary renal cell carcinoma', organ: 'kidney' },
  'TCGA-LGG': { cancer: 'lower-grade glioma', organ: 'brain' },
  'TCGA-LIHC': { cancer: 'hepatocellular carcinoma', organ: 'liver' },
  'TCGA-LUAD': { cancer: 'lung adenocarcinoma', organ: 'lung' },
  'TCGA-LUSC': { cancer: 'lung squamous cell carcinoma', organ: 'lung' },
  'TCGA-MESO': { cancer: 'mesothelioma', organ: 'pleura' },
  'TCGA-OV': { cancer: 'high-grade serous ovarian carcinoma', organ: 'ovary' },
  'TCGA-PAAD': { cancer: 'pancreatic ductal adenocarcinoma', organ: 'pancreas' },
  'TCGA-PCPG': { cancer: 'pheochromocytoma or paraganglioma', organ: 'adrenal gland' },
  'TCGA-PRAD': { cancer: 'prostate adenocarcinoma', organ: 'prostate' },
  'TCGA-READ': { cancer: 'rectal adenocarcinoma', organ: 'rectum' },
  'TCGA-SARC': { cancer: 'soft tissue sarcoma', organ: 'soft tissue' },
  'TCGA-SKCM': { cancer: 'cutaneous melanoma', organ: 'skin' },
  'TCGA-STAD': { cancer: 'stomach adenocarcinoma', organ: 'stomach' },
  'TCGA-TGCT': { cancer: 'testicular germ cell tumour', organ: 'testis' },
  'TCGA-THCA': { cancer: 'papillary thyroid carcinoma', organ: 'thyroid' },
  'TCGA-THYM': { cancer: 'thymoma', organ: 'thymus' },
  'TCGA-UCEC': { cancer: 'uterine corpus endometrial carcinoma', organ: 'endometrium' },
  'TCGA-UCS': { cancer: 'uterine carcinosarcoma', organ: 'uterus' },
  'TCGA-UVM': { cancer: 'uveal melanoma', organ: 'eye' },
};

export function isTcgaProjectCode(value: string): value is TcgaProjectCode {
  return (tcgaProjectCodes as readonly string[]).includes(value);
}

/** The project for a code such as `TCGA-LUAD` (case-insensitive; the `TCGA-` prefix may be omitted). */
export function tcgaProject(code: string): TcgaProject | undefined {
  const normalised = code.trim().toUpperCase();
  const full = normalised.startsWith('TCGA-') ? normalised : `TCGA-${normalised}`;
  return isTcgaProjectCode(full) ? { code: full, ...projects[full] } : undefined;
}
