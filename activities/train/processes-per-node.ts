import { PathgenError } from '../common/errors.js';

// `processesPerNode` > 1 runs open_clip's trainer under torchrun, one process per GPU (or per share
// of the CPU): open_clip finds torchrun's RANK/WORLD_SIZE, wraps the model in DistributedDataParallel
// and picks the collective backend itself, NCCL on CUDA and gloo once it has fallen back to the CPU,
// so no --dist-backend is passed (one given here would be wrong on whichever device the ranks end up
// on). Each process reads whole shards of its own (WebDataset splits the shard list by rank, then by
// dataloader worker), and --batch-size is per process.

/** The training Python's arguments: the trainer's own, or torchrun's followed by the trainer's. */
export function launchArgs(processesPerNode: number, trainer: string[]): string[] {
  if (processesPerNode === 1) return trainer;
  return [
    ...['-m', 'torch.distributed.run', '--standalone', `--nproc-per-node=${processesPerNode}`],
    // A failed rank fails the attempt: Temporal retries it, from the newest stored checkpoint.
    '--max-restarts=0',
    // Without it torchrun's parser reads open_clip's --logs as an abbreviation of its own --logs-specs.
    '--',
    ...trainer,
  ];
}

/** Samples per optimizer step over all processes (open_clip's --batch-size is per process). */
export function globalBatchSize(batchSize: number, processesPerNode: number): number {
  return batchSize * processesPerNode;
}

/**
 * Dataloader workers per process: open_clip refuses more workers in all than shards (each worker
 * reads whole shards), so at most the shards each process gets.
 */
export function dataloaderWorkers(requested: number, shards: number, processesPerNode: number): number {
  return Math.min(requested, Math.floor(shards / processesPerNode));
}

/** A process without a shard of its own would wait for the others forever: refuse before training. */
export function requireShardPerProcess(stage: string, shards: number, processesPerNode: number): void {
  if (shards >= processesPerNode) return;
  throw new PathgenError(
    'InvalidTrainInput',
    `stage ${stage} has ${shards} shard(s) for ${processesPerNode} processes; each process reads whole shards, ` +
      `so export with smaller shards or lower processesPerNode`,
    { stage, shards, processesPerNode },
  );
}
