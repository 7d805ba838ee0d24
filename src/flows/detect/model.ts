/**
 * The learned part of the detector: logistic regression over standardised endpoint features,
 * trained in TS on a labelled lab window (full-batch gradient descent with Adam, L2, positives
 * weighted up: C&C endpoints are a few dozen among tens of thousands). The weights live in a JSON
 * file in the repository (./model.json), so a detection run is reproducible and reviewable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { featureNames } from './features.js';

export const modelSchema = z.strictObject({
  kind: z.literal('iotclean-c2-model'),
  version: z.number().int(),
  features: z.array(z.string()),
  mean: z.array(z.number()),
  sd: z.array(z.number()),
  weights: z.array(z.number()),
  bias: z.number(),
  /** The score from which an endpoint is reported (chosen on the training data). */
  threshold: z.number().min(0).max(1),
  trainedOn: z.record(z.string(), z.unknown()),
});
export type C2Model = z.infer<typeof modelSchema>;

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The model's score (0..1) of one raw feature vector. */
export function predict(m: C2Model, x: readonly number[]): number {
  let z = m.bias;
  for (let i = 0; i < m.weights.length; i++) z += m.weights[i]! * (((x[i] ?? 0) - m.mean[i]!) / m.sd[i]!);
  return sigmoid(z);
}

/** Per-feature contribution to the logit (weight × standardised value): what pushed the score. */
export function contributions(m: C2Model, x: readonly number[]): number[] {
  return m.weights.map((w, i) => w * (((x[i] ?? 0) - m.mean[i]!) / m.sd[i]!));
}

export interface TrainOptions {
  readonly iterations?: number;
  readonly l2?: number;
  readonly learningRate?: number;
  /** Precision the threshold must reach on the training data. */
  readonly targetPrecision?: number;
}

/** Train on raw feature vectors and 0/1 labels. */
export function train(xs: readonly (readonly number[])[], ys: readonly number[], trainedOn: Record<string, unknown>, o: TrainOptions = {}): C2Model {
  const n = xs.length;
  const d = featureNames.length;
  if (n === 0 || !ys.some((y) => y === 1) || !ys.some((y) => y === 0)) throw new IotcleanError('E_ARGS', 'training needs both C&C and ordinary endpoints in the labelled window');
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const x of xs) for (let j = 0; j < d; j++) mean[j]! += x[j]! / n;
  for (const x of xs) for (let j = 0; j < d; j++) sd[j]! += (x[j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!) || 1;
  const z = xs.map((x) => x.map((v, j) => (v - mean[j]!) / sd[j]!));
  const pos = ys.filter((y) => y === 1).length;
  const wPos = Math.min(200, (n - pos) / pos);
  const w = new Array<number>(d).fill(0);
  let b = 0;
  const iterations = o.iterations ?? 3000;
  const l2 = o.l2 ?? 1e-4;
  const lr = o.learningRate ?? 0.1;
  const m1 = new Array<number>(d + 1).fill(0);
  const m2 = new Array<number>(d + 1).fill(0);
  const total = ys.reduce((a, y) => a + (y === 1 ? wPos : 1), 0);
  for (let it = 1; it <= iterations; it++) {
    const g = new Array<number>(d + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      let s = b;
      for (let j = 0; j < d; j++) s += w[j]! * zi[j]!;
      const err = (sigmoid(s) - ys[i]!) * (ys[i] === 1 ? wPos : 1);
      for (let j = 0; j < d; j++) g[j]! += err * zi[j]!;
      g[d]! += err;
    }
    for (let j = 0; j <= d; j++) {
      const gj = g[j]! / total + (j < d ? l2 * w[j]! : 0);
      m1[j] = 0.9 * m1[j]! + 0.1 * gj;
      m2[j] = 0.999 * m2[j]! + 0.001 * gj * gj;
      const step = (lr * (m1[j]! / (1 - 0.9 ** it))) / (Math.sqrt(m2[j]! / (1 - 0.999 ** it)) + 1e-8);
      if (j < d) w[j]! -= step;
      else b -= step;
    }
  }
  const model: C2Model = { kind: 'iotclean-c2-model', version: 1, features: [...featureNames], mean, sd, weights: w, bias: b, threshold: 0.5, trainedOn };
  // Threshold: the lowest score at which the training data still reach the target precision
  // (then halfway to the next lower negative, for a margin on unseen data).
  const scored = xs.map((x, i) => ({ s: predict(model, x), y: ys[i]! })).sort((a, b2) => b2.s - a.s);
  const target = o.targetPrecision ?? 0.97;
  let tp = 0;
  let fp = 0;
  let best = scored[0]!.s;
  for (const r of scored) {
    if (r.y === 1) tp++;
    else fp++;
    if (tp / (tp + fp) >= target && r.y === 1) best = r.s;
  }
  const nextNeg = scored.find((r) => r.s < best && r.y === 0)?.s ?? 0;
  return { ...model, threshold: Math.max(0.05, Math.min(0.99, (best + nextNeg) / 2)) };
}

/** Read and check a model file. */
export function loadModel(path: string): C2Model {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new IotcleanError('E_ARGS', `cannot read model ${path}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'train one with iotclean flows train, or omit --model to use the built-in one' });
  }
  const m = modelSchema.safeParse(raw);
  if (!m.success) throw new IotcleanError('E_ARGS', `model ${path} is not an iotclean C&C model: ${m.error.issues[0]?.path.join('.')} ${m.error.issues[0]?.message}`);
  const d = featureNames.length;
  if (m.data.features.join(',') !== featureNames.join(',') || m.data.mean.length !== d || m.data.sd.length !== d || m.data.weights.length !== d) {
    throw new IotcleanError('E_ARGS', `model ${path} was trained on other features (${m.data.features.join(', ')})`, { hint: 'retrain it with this version: iotclean flows train' });
  }
  return m.data;
}

/** The model shipped with iotclean (trained on lab seed 1; see ./model.json trainedOn). */
export function builtinModel(): C2Model {
  // Beside this file in src/, or from dist/src/flows/detect/ back to src/ (tsc copies no JSON).
  const here = [fileURLToPath(new URL('./model.json', import.meta.url)), fileURLToPath(new URL('../../../../src/flows/detect/model.json', import.meta.url))];
  return loadModel(here.find((p) => existsSync(p)) ?? here[0]!);
}
