// The three kinds of work pathgen schedules, each on its own task queue so that machines can
// subscribe to what they are good at: workflows and CPU stages (tiling, export) on `cpu`, CLIP
// inference and training on `gpu`, model-server calls on `agents`.
export const queueRoles = ['cpu', 'gpu', 'agents'] as const;
export type QueueRole = (typeof queueRoles)[number];

export type TaskQueues = Record<QueueRole, string>;

export const defaultTaskQueues: TaskQueues = {
  cpu: 'pathgen',
  gpu: 'pathgen-gpu',
  agents: 'pathgen-agents',
};
