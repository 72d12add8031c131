// The shapes evaluation results take, shared by the metric code, the workflow and the reports.
// Everything here is plain JSON (numbers, strings, arrays) so results travel through Temporal and
// into report.json unchanged.

/** Classification metrics of one prediction set (class indices 0..classes.length-1). */
export interface ClassificationMetrics {
  /** Top-1 accuracy in [0, 1]. */
  accuracy: number;
  /** Mean per-class recall over classes present in the labels (scikit-learn's balanced_accuracy_score). */
  balancedAccuracy: number;
  /** F1 averaged over classes weighted by support (f1_score(average='weighted')). */
  weightedF1: number;
  /** Unweighted mean F1 over classes (f1_score(average='macro')). */
  macroF1: number;
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
  /** Recall of each class (NaN-free: 0 where the class has no samples, with support 0). */
  perClassAccuracy: number[];
  support: number[];
  /** Samples scored. */
  count: number;
}

/** One ROC curve (one-vs-rest for a class, or the positive class of a binary task). */
export interface RocCurve {
  className: string;
  /** False/true positive rates at each distinct threshold, from (0,0) to (1,1). */
  fpr: number[];
  tpr: number[];
  auc: number;
}

export interface ZeroShotResult {
  kind: 'zero-shot';
  dataset: string;
  classes: string[];
  templates: string[];
  /** How class embeddings were formed: the first template only (PathGen) or the mean over templates. */
  ensemble: boolean;
  logitScale: number;
  metrics: ClassificationMetrics;
}

export interface LinearProbeShotResult {
  /** Shots per class; null = all training samples. */
  shots: number | null;
  seeds: number[];
  /** The weight decay chosen on the validation split, per seed. */
  weightDecay: number[];
  /** Mean and standard deviation over seeds. */
  accuracy: { mean: number; std: number };
  balancedAccuracy: { mean: number; std: number };
  weightedF1: { mean: number; std: number };
  /** Metrics of the first seed, for the confusion-matrix plot. */
  firstSeed: ClassificationMetrics;
}

export interface LinearProbeResult {
  kind: 'linear-probe';
  dataset: string;
  classes: string[];
  results: LinearProbeShotResult[];
}

export interface SlideTaskResult {
  kind: 'slide';
  task: string;
  classes: string[];
  /** Macro AUROC (one-vs-rest; for two classes the AUROC of class 1). */
  auroc: number;
  accuracy: number;
  macroF1: number;
  metrics: ClassificationMetrics;
  roc: RocCurve[];
  /** Slides in the test split and how many were skipped (no tissue, unreadable), with reasons. */
  slides: { train: number; validation: number; test: number; skipped: { slide: string; reason: string }[] };
}

export type EvalTaskResult = ZeroShotResult | LinearProbeResult | SlideTaskResult;

export interface EvalReport {
  evalId: string;
  model: { id: string; name: string; version: string };
  startedAt: string;
  finishedAt: string;
  tasks: EvalTaskResult[];
  /** Feature extraction: images embedded now vs taken from the cache. */
  features: { embedded: number; cached: number };
}
