/**
 * The CLI's commands and the options each takes: one table that gives `certseg --help`, each command's
 * `certseg COMMAND --help`, and the refusal of an option that a command does not take (instead of ignoring
 * it silently).
 */

/** Config overrides: taken by every command that runs models on images. */
const OVERRIDES = [
  'sigma',
  'n0',
  'n',
  'tau',
  'alpha',
  'correction',
  'engine',
  'batch-size',
  'memory-budget',
  'no-denoiser',
  'denoiser',
  'segmenter',
  'convention',
  'seed',
] as const;

export const OPTION_HELP: Record<string, string> = {
  mask: '--mask M          ground-truth mask (enables accuracy and Dice)',
  config: '--config C        a *.certseg.json config (default: the shipped models and MICCAI 2023 settings)',
  out: '--out DIR         output folder (new, empty, or an earlier result of the same kind)',
  seed: '--seed S          noise seed (integer); the same seed reproduces a run exactly',
  slice: '--slice AXIS:INDEX  the slice of a volume (NIfTI, multi-frame DICOM), e.g. z:40',
  limit: '--limit N         only the first N images',
  split: '--split NAME      the images listed in DIR/splits/NAME.txt',
  resume: '--resume          skip images whose result is already complete',
  shard: '--shard I/N       certify shard I (0-based) of N: the images at positions I, I+N, I+2N, …',
  shards: '--shards N        the shard count, when the index comes from a Slurm array or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)',
  'allow-partial': '--allow-partial   merge what is there; the summary is marked partial and lists the missing images',
  sigma: "--sigma S         noise level σ, on the model's [0,1] input scale",
  n0: '--n0 N            selection samples',
  n: '--n N             estimation samples',
  tau: '--tau T           vote-fraction threshold τ in [0.5, 1)',
  alpha: '--alpha A         family-wise error level α',
  correction: '--correction holm|bonferroni  multiple-testing correction',
  engine: '--engine auto|onnx|tfjs  inference engine',
  'batch-size': '--batch-size B    noisy samples per engine call (at most; the memory plan may use fewer)',
  'memory-budget': "--memory-budget MIB  peak memory to plan for (default 2048 on CPU, the GPU's memory on a GPU)",
  'no-denoiser': '--no-denoiser     plain randomized smoothing (no diffusion denoising)',
  denoiser: "--denoiser CARD    the denoiser's model card",
  segmenter: "--segmenter CARD   the segmenter's model card",
  convention: '--convention carlini|miccai  how σ maps to the diffusion timestep',
  rics: '--rics M          robust inference by crop selection with an M×M window',
  circular: '--circular        also measure circular (wrap-around) shifts',
  json: '--json            print the full result as JSON',
  image: '--image IMG       the image for the clean pass (default: a generated test pattern)',
  help: '--help            this help',
  'gpus-per-task': '--gpus-per-task G  GPUs per shard (default 1; 0 for CPU nodes)',
  'cpus-per-task': '--cpus-per-task C  CPU cores per shard',
  partition: '--partition P     the Slurm partition',
  time: '--time T          the Slurm time limit per shard (e.g. 02:00:00)',
  submit: '--submit          submit the array and the merge with sbatch (else print the line that does)',
  pvc: '--pvc CLAIM        a PersistentVolumeClaim with the dataset and the output, mounted at --mount',
  mount: '--mount PATH      where the claim is mounted in the pods (default /data)',
  'job-dir': '--job-dir DIR     where the job files go (default certseg-jobs)',
};

interface CommandHelp {
  usage: string;
  summary: string;
  options: readonly string[];
  /** a command's own meaning of a shared option name (cluster's --image is a container image) */
  optionHelp?: Record<string, string>;
}

export const COMMANDS: Record<string, CommandHelp> = {
  certify: {
    usage: 'certseg certify IMAGE [options]',
    summary: 'certify one image (PNG, JPEG, BMP, TIFF, WebP, DICOM, NIfTI); writes report.json, overlays and .npy files',
    options: ['mask', 'config', 'out', 'slice', ...OVERRIDES, 'json', 'help'],
  },
  dataset: {
    usage: 'certseg dataset DIR [options]',
    summary: 'certify every image of a dataset folder (DIR/images + DIR/masks, or a manifest); writes summary.json',
    options: ['config', 'out', 'limit', 'split', 'resume', 'shard', 'shards', ...OVERRIDES, 'help'],
  },
  merge: {
    usage: 'certseg merge OUT_0 OUT_1 ... --out MERGED [--allow-partial]',
    summary: 'merge the shards of a cluster run into the summary.json and image folders of a one-process run',
    options: ['out', 'allow-partial', 'help'],
  },
  recertify: {
    usage: 'certseg recertify DIR [options]',
    summary: 'apply the test again to stored counts with other τ/α/correction (exploratory: no family-wise guarantee)',
    options: ['tau', 'alpha', 'correction', 'out', 'help'],
  },
  consistency: {
    usage: 'certseg consistency IMAGE|DIR [options]',
    summary: 'translation consistency: one-pixel shifts, plain and with crop selection',
    options: ['rics', 'circular', 'config', 'out', 'limit', 'engine', 'segmenter', 'json', 'help'],
  },
  card: {
    usage: 'certseg card check CARD [--image IMG] [--engine auto|onnx|tfjs] [--json]',
    summary: 'check a model card against its model: tensors, one clean pass, class histogram, time per pass (docs/model-cards.md)',
    options: ['image', 'engine', 'json', 'help'],
  },
  cluster: {
    usage: 'certseg cluster slurm|k8s DIR --shards N [options]',
    summary:
      'write the job files that certify DIR in N shards on Slurm (sbatch array + dependent merge) or Kubernetes (Indexed Job + merge Job)',
    options: [
      'shards',
      'out',
      'config',
      'split',
      'limit',
      ...OVERRIDES,
      'gpus-per-task',
      'cpus-per-task',
      'partition',
      'time',
      'submit',
      'image',
      'pvc',
      'mount',
      'job-dir',
      'help',
    ],
    optionHelp: {
      shards: '--shards N        the number of shards (array tasks or pods)',
      out: '--out DIR         the output folder, on storage every node sees (k8s: the path inside the pods)',
      image: '--image IMAGE     (k8s) the certseg container image (see the Dockerfile)',
      partition: '--partition P     (slurm) the partition',
      time: '--time T          (slurm) the time limit per shard (e.g. 02:00:00)',
      submit: '--submit          (slurm) submit the array and the merge with sbatch',
      pvc: '--pvc CLAIM       (k8s) a PersistentVolumeClaim with the dataset and the output',
      mount: '--mount PATH      (k8s) where the claim is mounted in the pods (default /data)',
    },
  },
  engines: { usage: 'certseg engines', summary: 'the inference engines, backends and devices available here', options: ['help'] },
};

export function overview(): string {
  const lines = ['usage: certseg COMMAND [options]   (certseg COMMAND --help lists its options)', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', 'also: certseg --version');
  return lines.join('\n');
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name];
  return [
    `usage: ${c.usage}`,
    '',
    c.summary,
    '',
    'options:',
    ...c.options.map((o) => `  ${c.optionHelp?.[o] ?? OPTION_HELP[o] ?? `--${o}`}`),
  ].join('\n');
}

/** The options given that `command` does not take, as flags (e.g. ["--rics"]). */
export function optionsNotTaken(command: string, given: Record<string, unknown>): string[] {
  const taken = new Set(COMMANDS[command]?.options ?? []);
  return Object.keys(given)
    .filter((k) => given[k] !== undefined && !taken.has(k))
    .map((k) => `--${k}`);
}
