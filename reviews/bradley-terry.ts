// Bradley–Terry maximum likelihood on aggregated pair counts, in FastChat's natural-parameter space:
// P(i beats j) = sigmoid(alpha · (r_i − r_j)) with alpha = ln(base), ties scored as half a win.
// Damped Newton with a Cholesky solve: with tens of contenders the Hessian is tiny, so each
// iteration is cheap and a warm-started bootstrap refit needs three Newton steps.

/** Pairs that met at least once, in a flat layout shared by every refit (i < j, fitted-contender indices). */
export interface PairLayout {
  /** Number of fitted contenders. */
  n: number;
  pairI: Int32Array;
  pairJ: Int32Array;
  /** Connected component of each contender (0-based), from the full data. */
  component: Int32Array;
  /** Size of each component. */
  componentSize: Int32Array;
}

/** Games and score of one data set over a layout: per pair, games played and i's score (wins + ties/2). */
export interface PairCounts {
  games: Float64Array;
  scoreI: Float64Array;
}

/** Fixed settings of a fit. */
export interface FitSettings {
  /** ln(base): the logit per natural unit of strength. */
  alpha: number;
  /** Precision of a zero-mean Gaussian prior on the natural strengths; keeps unbeaten contenders finite. */
  l2: number;
  maxIterations: number;
  /** Stop when no strength moves more than this (natural units). */
  stepTolerance: number;
}

/** Reusable buffers, so a thousand refits allocate nothing. */
export interface FitWorkspace {
  grad: Float64Array;
  hess: Float64Array;
  step: Float64Array;
  trial: Float64Array;
  trialGrad: Float64Array;
  trialHess: Float64Array;
}

/** Allocates buffers for fits of n contenders. */
export function createFitWorkspace(n: number): FitWorkspace {
  return {
    grad: new Float64Array(n),
    hess: new Float64Array(n * n),
    step: new Float64Array(n),
    trial: new Float64Array(n),
    trialGrad: new Float64Array(n),
    trialHess: new Float64Array(n * n),
  };
}

/** Groups contenders into connected components of the "played each other" graph (union–find). */
export function connectedComponents(
  n: number,
  pairI: Int32Array,
  pairJ: Int32Array,
): { component: Int32Array; componentSize: Int32Array } {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (x: number): number => {
    let root = x;
    while (parent[root] !== root) root = parent[root]!;
    while (parent[x] !== root) {
      const next = parent[x]!;
      parent[x] = root;
      x = next;
    }
    return root;
  };
  for (let p = 0; p < pairI.length; p++) {
    const a = find(pairI[p]!);
    const b = find(pairJ[p]!);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  // Number components by their lowest member so the numbering is deterministic.
  const id = new Int32Array(n).fill(-1);
  const component = new Int32Array(n);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const root = find(i);
    if (id[root] === -1) {
      id[root] = sizes.length;
      sizes.push(0);
    }
    const c = id[root]!;
    component[i] = c;
    sizes[c]!++;
  }
  return { component, componentSize: Int32Array.from(sizes) };
}

/**
 * Objective (negative log-likelihood + prior), its gradient and its Hessian at r. The Hessian gets
 * an extra `mu/size` on every entry within a component: that rank-one term does not move the optimum
 * (the gradient has zero sum per component when the strengths do) but keeps the solve well conditioned
 * along the direction the likelihood cannot see.
 */
function evaluate(
  layout: PairLayout,
  counts: PairCounts,
  settings: FitSettings,
  r: Float64Array,
  grad: Float64Array,
  hess: Float64Array | null,
): number {
  const { n, pairI, pairJ } = layout;
  const { alpha, l2 } = settings;
  const { games, scoreI } = counts;
  let objective = 0;
  for (let i = 0; i < n; i++) {
    const ri = r[i]!;
    grad[i] = l2 * ri;
    objective += 0.5 * l2 * ri * ri;
  }
  if (hess) hess.fill(0);
  const alpha2 = alpha * alpha;
  for (let p = 0; p < pairI.length; p++) {
    const g = games[p]!;
    if (g === 0) continue;
    const i = pairI[p]!;
    const j = pairJ[p]!;
    const z = alpha * (r[i]! - r[j]!);
    // log sigmoid(z) without overflow on either side.
    let logSig: number;
    let prob: number;
    if (z >= 0) {
      const e = Math.exp(-z);
      logSig = -Math.log1p(e);
      prob = 1 / (1 + e);
    } else {
      const e = Math.exp(z);
      logSig = z - Math.log1p(e);
      prob = e / (1 + e);
    }
    const s = scoreI[p]!;
    // s·log σ(z) + (g − s)·log σ(−z), with log σ(−z) = log σ(z) − z.
    objective -= g * logSig - (g - s) * z;
    const d = alpha * (g * prob - s);
    grad[i] = grad[i]! + d;
    grad[j] = grad[j]! - d;
    if (hess) {
      const h = alpha2 * g * prob * (1 - prob);
      hess[i * n + i] = hess[i * n + i]! + h;
      hess[j * n + j] = hess[j * n + j]! + h;
      hess[i * n + j] = hess[i * n + j]! - h;
      hess[j * n + i] = hess[j * n + i]! - h;
    }
  }
  if (hess) {
    let trace = 0;
    for (let i = 0; i < n; i++) trace += hess[i * n + i]!;
    const mu = trace / n + 1;
    const { component, componentSize } = layout;
    for (let i = 0; i < n; i++) {
      const ci = component[i]!;
      const add = mu / componentSize[ci]!;
      const row = i * n;
      for (let j = 0; j < n; j++) if (component[j] === ci) hess[row + j] = hess[row + j]! + add;
      hess[row + i] = hess[row + i]! + l2;
    }
  }
  return objective;
}

/** Solves A·x = b in place (x overwrites b) for symmetric positive definite A; A is destroyed. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let diag = a[rowJ + j]!;
    for (let k = 0; k < j; k++) diag -= a[rowJ + k]! * a[rowJ + k]!;
    if (!(diag > 0)) return false;
    const ljj = Math.sqrt(diag);
    a[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = a[rowI + j]!;
      for (let k = 0; k < j; k++) sum -= a[rowI + k]! * a[rowJ + k]!;
      a[rowI + j] = sum / ljj;
    }
  }
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= a[row + k]! * b[k]!;
    b[i] = sum / a[row + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i]!;
    for (let k = i + 1; k < n; k++) sum -= a[k * n + i]! * b[k]!;
    b[i] = sum / a[i * n + i]!;
  }
  return true;
}

/** Makes strengths sum to zero within each component: the anchoring convention of every fit. */
export function centreByComponent(layout: PairLayout, r: Float64Array): void {
  const { n, component, componentSize } = layout;
  const sums = new Float64Array(componentSize.length);
  for (let i = 0; i < n; i++) sums[component[i]!] = sums[component[i]!]! + r[i]!;
  for (let i = 0; i < n; i++) {
    const c = component[i]!;
    r[i] = r[i]! - sums[c]! / componentSize[c]!;
  }
}

/**
 * Fits strengths in place, starting from `r` (zeros for a cold start, the full-data fit for a
 * bootstrap refit). Returns whether the step tolerance was reached within the iteration budget.
 */
export function fitBradleyTerry(
  layout: PairLayout,
  counts: PairCounts,
  settings: FitSettings,
  r: Float64Array,
  ws: FitWorkspace,
): { converged: boolean; iterations: number } {
  const { n } = layout;
  if (n === 0) return { converged: true, iterations: 0 };
  centreByComponent(layout, r);
  let { grad, hess, trialGrad, trialHess } = ws;
  const { step, trial } = ws;
  let converged = false;
  let iterations = settings.maxIterations;
  let objective = evaluate(layout, counts, settings, r, grad, hess);
  for (let iteration = 1; iteration <= settings.maxIterations; iteration++) {
    for (let i = 0; i < n; i++) step[i] = -grad[i]!;
    let slope = 0;
    if (!choleskySolve(hess, step, n)) {
      // Not expected (the prior makes the matrix positive definite); fall back to steepest descent.
      for (let i = 0; i < n; i++) step[i] = -grad[i]! / (1 + settings.l2);
    }
    for (let i = 0; i < n; i++) slope += grad[i]! * step[i]!;
    let maxStep = 0;
    for (let i = 0; i < n; i++) maxStep = Math.max(maxStep, Math.abs(step[i]!));
    // Newton converges quadratically: once its step is this small, take it and stop, without paying
    // for one more evaluation.
    if (maxStep < settings.stepTolerance) {
      for (let i = 0; i < n; i++) r[i] = r[i]! + step[i]!;
      converged = true;
      iterations = iteration;
      break;
    }
    // Far from the optimum (cold start on lopsided data) a full Newton step can overshoot the
    // flat tails of the sigmoid; halve it until the objective decreases enough (Armijo). Near the
    // optimum objective values differ by less than their rounding, so a step is also accepted when
    // the slope at its end still points downhill: for a convex objective that proves a decrease.
    let t = 1;
    let trialObjective = 0;
    for (let halvings = 0; ; halvings++) {
      for (let i = 0; i < n; i++) trial[i] = r[i]! + t * step[i]!;
      trialObjective = evaluate(layout, counts, settings, trial, trialGrad, trialHess);
      if (trialObjective <= objective + 1e-4 * t * slope || halvings >= 60) break;
      let endSlope = 0;
      for (let i = 0; i < n; i++) endSlope += trialGrad[i]! * step[i]!;
      if (endSlope <= 0) break;
      t *= 0.5;
    }
    // `r` belongs to the caller, so the trial point is copied into it; the rest swap buffers.
    r.set(trial);
    [grad, trialGrad] = [trialGrad, grad];
    [hess, trialHess] = [trialHess, hess];
    objective = trialObjective;
  }
  Object.assign(ws, { grad, hess, trialGrad, trialHess });
  centreByComponent(layout, r);
  return { converged, iterations };
}
