// The node flags every worker process starts with: `npm run worker`, the cluster's and compose's workers, the benchmarks'.

/**
 * A worker's memory is what its concurrency settings need (200 cached workflows, 20 activities at
 * once, one page of students per fetch), not what V8's heap heuristics grant: left alone, V8 lets
 * the old generation grow with the rate at which a large sync allocates, so a 100,000-student sync
 * peaked 110 MB above a 10,000-student one and 200 syncs at once reached 550 MB. With the old
 * generation capped at 384 MB the peak is flat from 10,000 to 500,000 students and the 200-school
 * fan-out stays under 400 MB (bench/). A 256 MB cap held the peaks as well but cost a 100,000-student
 * sync about 0.4 s in garbage collection. test/deploy ties the package script and
 * docker-compose.yml to this list.
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=384'] as const;
