// Public surface of digests/: digest YAML, periods, the pure builder, the chart, and once-per-period posting.
export { loadDigests, type Digest } from './schema.ts';
export { periodLabel } from './period.ts';
export type { DigestInputs, DigestRun, DigestTick } from './build.ts';
export {
  createDigestPosts,
  postDigest,
  previewDigest,
  startDigests,
  type DigestDeps,
  type PostOutcome,
} from './post.ts';
