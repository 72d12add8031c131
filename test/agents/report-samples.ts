// Four report texts written for these tests in the styles TCGA reports come in: a synoptic
// checklist, free text with lettered parts, an OCR-like block with a gross description, and a
// short prostate report with a Gleason score.

export const breastSynoptic = `SURGICAL PATHOLOGY REPORT

CLINICAL HISTORY: 58 year old woman with a left breast mass.

GROSS DESCRIPTION:
Received in formalin labeled "left breast" is a 12.0 x 8.5 x 4.0 cm lumpectomy specimen. The margins are inked.
A firm tumor measuring 2.1 cm is identified 0.4 cm from the deep margin. Five lymph nodes are identified.

FINAL DIAGNOSIS:
Left breast, lumpectomy:
- Invasive ductal carcinoma, Nottingham grade 2 (of 3).
- Ductal carcinoma in situ, solid and cribriform types, with comedo necrosis.

SYNOPTIC REPORT
Procedure: Lumpectomy
Laterality: Left
Histologic Type: Invasive ductal carcinoma
Tumor Size: 2.1 cm
Glandular (Acinar)/Tubular Differentiation: Score 3
Nuclear Pleomorphism: Score 2
Mitotic Rate: Score 1
Lymphovascular Invasion: Not identified
Margins: Uninvolved by invasive carcinoma; closest margin (deep) 4 mm
Regional Lymph Nodes: 1 of 5 involved by metastatic carcinoma
Microcalcifications: Present in DCIS
Pathologic Stage: pT2 pN1a
`;

export const lungFreeText = `DIAGNOSIS:
A. Lung, right upper lobe, lobectomy:
   Adenocarcinoma, acinar predominant, moderately differentiated, measuring 3.2 cm.
   Visceral pleural invasion is present. No lymphovascular invasion is identified.
   The bronchial and vascular margins are free of tumor.
   Background lung with emphysematous changes and focal fibrosis.
B. Lymph nodes, level 7, excision:
   Three lymph nodes, negative for carcinoma (0/3).
COMMENT: The tumor shows areas of necrosis. Approx. 10% of the tumor is solid.
`;

export const colonOcr = `Specimen submitted: sigmoid colon
Gross: The specimen consists of a segment of colon 22 cm in length with an ulcerated mass.
MICROSCOPIC DESCRIPTION: Sections show a moderately differentiated adenocarcinoma with
extracellular mucin pools, invading through the muscularis propria into the pericolonic fat.
Perineural invasion is present, but lymphovascular invasion is not seen. Tumor budding is
prominent at the invasive front. Thirteen lymph nodes are examined and 2/13 contain metastatic
adenocarcinoma. The proximal, distal and radial margins are negative.
`;

export const prostateShort = `FINAL DIAGNOSIS: PROSTATE, RADICAL PROSTATECTOMY: PROSTATIC ADENOCARCINOMA, GLEASON SCORE 3+4=7.
PERINEURAL INVASION PRESENT. EXTRAPROSTATIC EXTENSION NOT IDENTIFIED. SURGICAL MARGINS NEGATIVE.
HIGH-GRADE PROSTATIC INTRAEPITHELIAL NEOPLASIA PRESENT.`;
