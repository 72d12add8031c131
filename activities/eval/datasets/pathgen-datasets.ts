import { PathgenError } from '../../common/errors.js';
import { validateDatasetDefinition } from './dataset-definition.js';
import type { DatasetDefinition, DatasetDefinitionInput } from './dataset-definition.js';

// The nine zero-shot datasets of PathGen's evaluation (../shared/PATHGEN.md, "Evaluation").
//
// Where the lists come from. PathGen's code does not publish its zero-shot prompts; the paper
// gives one template per dataset in the "An H&E image of …" style, and the released model card
// prompts PathGen-CLIP with "An H&E image of tumor patch". So:
// - Templates: the first template of each dataset is "An H&E image of {class}" (our choice of the
//   exact wording, following the model card; WSSS4LUAD adds "tissue" as PLIP does, because its
//   class names are bare adjectives). The others are only used when ensembling is asked for, and
//   come from published lists: PLIP's "An H&E image patch of {}." (PathologyFoundation/plip,
//   reproducibility/generate_validation_datasets/_dataset_loader.py), CONCH's prompt templates
//   (mahmoodlab/CONCH, prompts/crc100k_prompts_all_per_class.json) and CLIP_benchmark's PCam
//   templates (clip-benchmark/wds_vtab-pcam, zeroshot_classification_templates.txt).
// - Class names: CRC-100K and WSSS4LUAD as PLIP uses them (the nine Kather classes with
//   background; normal/tumor); SICAPv2, LC25000, Osteo, SkinCancer, BACH and PCam as Quilt-1M's
//   evaluation lists them (wisdomikezogwo/quilt1m, eval/en_classnames.json), in the label order of
//   its dataset classes (eval/histopathology_datasets.py), which also gives the release's label
//   spellings for SICAPv2, Osteo and SkinCancer. Quilt-1M, PathCLIP and PathGen evaluate on this
//   same family of datasets.

const ensembleTemplates = [
  'An H&E image patch of {class}.',
  'an H&E stained image of {class}.',
  'a histopathological image of {class}.',
  'a histopathology slide showing {class}',
  'histopathology image of {class}',
];

const tissueTemplates = [
  'An H&E image of {class} tissue',
  'An H&E image patch of {class} tissue.',
  'an H&E stained image of {class} tissue.',
  'a histopathological image of {class} tissue.',
];

const standard = (primary = 'An H&E image of {class}') => [primary, ...ensembleTemplates];

const cls = (label: string, name: string, aliases: string[] = []) => ({ label, name, aliases });

const definitions: DatasetDefinitionInput[] = [
  {
    id: 'crc-100k',
    displayName: 'CRC-100K',
    classes: [
      cls('ADI', 'adipose tissue'),
      cls('BACK', 'background'),
      cls('DEB', 'debris'),
      cls('LYM', 'lymphocytes'),
      cls('MUC', 'mucus'),
      cls('MUS', 'smooth muscle'),
      cls('NORM', 'normal colon mucosa'),
      cls('STR', 'cancer-associated stroma'),
      cls('TUM', 'colorectal adenocarcinoma epithelium'),
    ],
    templates: standard(),
    testSplit: 'CRC-VAL-HE-7K (7,180 patches, another centre); NCT-CRC-HE-100K is the training set',
    source: 'https://zenodo.org/records/1214456',
    note:
      'Folders ADI … TUM as released. PathGen counts nine classes, so background (BACK) stays in; ' +
      "Quilt-1M's list drops it. Names as PLIP's Kather evaluation.",
  },
  {
    id: 'sicapv2',
    displayName: 'SICAPv2',
    classes: [
      cls('NC', 'benign glands'),
      cls('G3', 'atrophic dense glands'),
      cls('G4', 'cribriform ill-formed fused papillary patterns'),
      // "roseting" is spelled as in the published list, so prompts match the reported numbers.
      cls('G5', 'isolated nest cells without lumen roseting patterns'),
    ],
    templates: standard(),
    testSplit: 'partition/Test/Test.xlsx; partition/Test/Train.xlsx is the training set',
    source: 'https://data.mendeley.com/datasets/9xxm58dvs3/1',
    note:
      'The release keeps all patches in images/ and gives labels as one-hot Excel columns NC, G3, G4, G5 ' +
      '(G4C flags cribriform G4 and is not a class): write a CSV path,label with the column that is 1.',
  },
  {
    id: 'wsss4luad',
    displayName: 'WSSS4LUAD',
    classes: [cls('normal', 'normal'), cls('tumor', 'tumor')],
    templates: tissueTemplates,
    testSplit: 'no image-level test labels are released: evaluate on 1.training (PLIP tests on a seeded 30 % of it)',
    source: 'https://wsss4luad.grand-challenge.org/',
    note:
      'Binary as in PLIP: file names carry [tumor, stroma, normal] flags; a patch is tumor when the ' +
      'first flag is 1, otherwise normal. Sort the patches into tumor/ and normal/ or list them in a CSV.',
  },
  {
    id: 'lc25000-lung',
    displayName: 'LC25000 (lung)',
    classes: [
      cls('lung_aca', 'lung adenocarcinoma'),
      cls('lung_n', 'benign lung'),
      cls('lung_scc', 'lung squamous cell carcinoma'),
    ],
    templates: standard(),
    testSplit: 'no official split: all 15,000 images of lung_image_sets',
    source: 'https://github.com/tampapath/lung_colon_image_set',
    note: 'Point the folder at lung_colon_image_set/lung_image_sets (folders lung_aca, lung_n, lung_scc).',
  },
  {
    id: 'lc25000-colon',
    displayName: 'LC25000 (colon)',
    classes: [cls('colon_aca', 'colon adenocarcinoma'), cls('colon_n', 'benign colonic tissue')],
    templates: standard(),
    testSplit: 'no official split: all 10,000 images of colon_image_sets',
    source: 'https://github.com/tampapath/lung_colon_image_set',
    note: 'Point the folder at lung_colon_image_set/colon_image_sets (folders colon_aca, colon_n).',
  },
  {
    id: 'osteo',
    displayName: 'Osteo',
    classes: [
      cls('Non-Tumor', 'non-tumor'),
      cls('Non-Viable-Tumor', 'non-viable necrotic osteosarcoma tumor'),
      cls('Viable', 'viable osteosarcoma tumor'),
    ],
    templates: standard(),
    testSplit: 'no official split: all labelled tiles',
    source: 'https://www.cancerimagingarchive.net/collection/osteosarcoma-tumor-assessment/',
    note:
      'Labels are the release CSV\'s classification values; rows labelled "viable: non-viable" are left ' +
      'out, as Quilt-1M does. Write a CSV path,label or sort the tiles into one folder per label.',
  },
  {
    id: 'skin-cancer',
    displayName: 'SkinCancer',
    classes: [
      cls('nontumor_skin_necrosis_necrosis', 'necrosis'),
      cls('nontumor_skin_muscle_skeletal', 'skeletal muscle'),
      cls('nontumor_skin_sweatglands_sweatglands', 'eccrine sweat glands'),
      cls('nontumor_skin_vessel_vessel', 'vessels'),
      cls('nontumor_skin_elastosis_elastosis', 'elastosis'),
      cls('nontumor_skin_chondraltissue_chondraltissue', 'chondral tissue'),
      cls('nontumor_skin_hairfollicle_hairfollicle', 'hair follicle'),
      cls('nontumor_skin_epidermis_epidermis', 'epidermis'),
      cls('nontumor_skin_nerves_nerves', 'nerves'),
      cls('nontumor_skin_subcutis_subcutis', 'subcutis'),
      cls('nontumor_skin_dermis_dermis', 'dermis'),
      cls('nontumor_skin_sebaceousglands_sebaceousglands', 'sebaceous glands'),
      cls('tumor_skin_epithelial_sqcc', 'squamous-cell carcinoma'),
      cls('tumor_skin_melanoma_melanoma', 'melanoma in-situ'),
      cls('tumor_skin_epithelial_bcc', 'basal-cell carcinoma'),
      cls('tumor_skin_naevus_naevus', 'naevus'),
    ],
    templates: standard(),
    testSplit: 'rows of the release CSV with set = Test',
    source: 'https://www.frontiersin.org/articles/10.3389/fonc.2022.1022967',
    note:
      "Kriegsmann et al. 2022, 16 classes. Labels are the release CSV's class values (file, class, set " +
      'columns): write a CSV path,label,split from them.',
  },
  {
    id: 'bach',
    displayName: 'BACH',
    classes: [
      cls('Benign', 'breast non-malignant benign tissue'),
      cls('InSitu', 'breast malignant in-situ carcinoma'),
      cls('Invasive', 'breast malignant invasive carcinoma'),
      cls('Normal', 'normal breast tissue'),
    ],
    templates: standard(),
    testSplit: 'the 400 labelled microscopy photos (Photos/); the challenge test set has no public labels',
    source: 'https://iciar2018-challenge.grand-challenge.org/',
    note:
      'Point the folder at ICIAR2018_BACH_Challenge/Photos (folders Benign, InSitu, Invasive, Normal). ' +
      'Quilt-1M\'s list reads "breast normal breast tissue" for Normal; we drop the doubled "breast".',
  },
  {
    id: 'pcam',
    displayName: 'PCam',
    classes: [cls('0', 'lymph node'), cls('1', 'lymph node containing metastatic tumor tissue')],
    templates: standard(),
    testSplit: 'camelyonpatch_level_2_split_test (32,768 patches)',
    source: 'https://github.com/basveeling/pcam',
    note:
      'The release ships HDF5 arrays with labels 0 (no tumour) and 1 (tumour in the centre): export the ' +
      'patches as images into folders 0/ and 1/, or list them in a CSV with labels 0 and 1.',
  },
];

/** The nine definitions, checked when this module loads. */
export const pathgenDatasets: readonly DatasetDefinition[] = checkTable(definitions);

export const pathgenDatasetIds: readonly string[] = pathgenDatasets.map((definition) => definition.id);

export function pathgenDataset(id: string): DatasetDefinition {
  const definition = pathgenDatasets.find((candidate) => candidate.id === id);
  if (definition === undefined) {
    throw new PathgenError(
      'InvalidDataset',
      `unknown dataset definition "${id}" (known: ${pathgenDatasetIds.join(', ')})`,
      { definition: id, known: [...pathgenDatasetIds] },
    );
  }
  return definition;
}

function checkTable(table: DatasetDefinitionInput[]): DatasetDefinition[] {
  const checked = table.map(validateDatasetDefinition);
  const ids = checked.map((definition) => definition.id);
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (repeated.length > 0) {
    throw new PathgenError('InvalidDataset', `dataset ids appear twice: ${repeated.join(', ')}`, { repeated });
  }
  return checked;
}
