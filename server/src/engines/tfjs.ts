/**
 * TensorFlow.js runner. Backend, best first: tfjs-node-gpu, tfjs-node (both optional native packages
 * that often fail to install), the wasm backend (ships its .wasm files), the pure-JS cpu backend.
 * Models load from disk through an fs IOHandler: tfjs-node's file:// handler is absent without tfjs-node.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CertsegError } from '../core/errors';
import type { ModelFormat } from '../models/card';
import type { EngineInfo } from '../../../protocol/results';
import { sameTensorName, type Feed, type ModelRunner, type RunOutput, type TensorMeta } from './runner';

interface Backend {
  backend: string;
  device: 'gpu' | 'cpu';
}
let ready: Promise<Backend> | null = null;

function tryNative(pkg: string): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg); // registers the 'tensorflow' backend on the shared @tensorflow/tfjs-core
    return true;
  } catch {
    return false;
  }
}

async function selectBackend(): Promise<Backend> {
  if (tryNative('@tensorflow/tfjs-node-gpu') && (await tf.setBackend('tensorflow'))) return { backend: 'tensorflow-gpu', device: 'gpu' };
  if (tryNative('@tensorflow/tfjs-node') && (await tf.setBackend('tensorflow'))) return { backend: 'tensorflow', device: 'cpu' };
  try {
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dist + path.sep);
    if (await tf.setBackend('wasm')) return { backend: 'wasm', device: 'cpu' };
  } catch {
    // fall through to the pure-JS backend
  }
  await tf.setBackend('cpu');
  return { backend: 'cpu', device: 'cpu' };
}

/** Initialises tfjs once and reports the backend in use. */
export async function tfjsBackend(): Promise<EngineInfo> {
  ready ??= selectBackend();
  const b = await ready;
  return { engine: 'tfjs', backend: b.backend, device: b.device, version: tf.version_core };
}

/** Reads model.json and its weight shards (in manifest order) with fs. */
export function fileIOHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await fsp.readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      const dir = path.dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Buffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(await fsp.readFile(path.join(dir, decodeURIComponent(p))));
        }
        const all = Buffer.concat(buffers);
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

async function detectFormat(file: string): Promise<Exclude<ModelFormat, 'onnx'>> {
  const json = JSON.parse(await fsp.readFile(file, 'utf8')) as {
    format?: string;
    modelTopology?: { class_name?: string; keras_version?: string };
  };
  if (json.format === 'layers-model' || json.modelTopology?.class_name || json.modelTopology?.keras_version) return 'tfjs-layers';
  return 'tfjs-graph';
}

function toFeedTensor(f: Feed): tf.Tensor {
  // tfjs has no int64: timesteps travel as int32
  if (f.dtype === 'int64') return tf.tensor(Int32Array.from(f.data as BigInt64Array, Number), f.dims, 'int32');
  return tf.tensor(f.data as Float32Array | Int32Array, f.dims, f.dtype);
}

async function readOut(t: tf.Tensor): Promise<RunOutput> {
  const data = await t.data();
  const out = data instanceof Float32Array ? data : Int32Array.from(data as ArrayLike<number>);
  return { data: out, dims: t.shape };
}

function dims(shape: readonly (number | null)[] | undefined): (number | null)[] | null {
  return shape ? shape.map((d) => (d != null && d > 0 ? d : null)) : null;
}

type Signature = { outputs?: Record<string, { name?: string; tensorShape?: { dim?: { size?: string | number }[] } }> };

function signatureShapes(sig: unknown): [string, (number | null)[]][] {
  const outs = (sig as Signature | undefined)?.outputs ?? {};
  return Object.entries(outs).flatMap(([key, o]) => {
    const dim = o.tensorShape?.dim;
    return dim ? [[o.name ?? key, dim.map((d) => (Number(d.size) > 0 ? Number(d.size) : null))] as [string, (number | null)[]]] : [];
  });
}

export async function loadTfjsRunner(file: string, shown: string, format?: ModelFormat): Promise<ModelRunner> {
  const info = await tfjsBackend();
  const fmt =
    format && format !== 'onnx'
      ? format
      : await detectFormat(file).catch(() => {
          throw new CertsegError(`${shown}: ${file} is not a TF.js model.json`, 'model');
        });
  const handler = fileIOHandler(file);
  try {
    if (fmt === 'tfjs-graph') {
      const model = await tf.loadGraphModel(handler);
      const inputs: TensorMeta[] = model.inputs.map((i) => ({ name: i.name, dims: dims(i.shape), dtype: i.dtype }));
      // converted graphs often leave output shapes off the graph but keep them in the signature
      const sig = signatureShapes(model.modelSignature);
      const outputs: TensorMeta[] = model.outputs.map((o) => ({
        name: o.name,
        dims: dims(o.shape) ?? sig.find(([n]) => sameTensorName(n, o.name))?.[1] ?? null,
        dtype: o.dtype,
      }));
      return {
        info,
        inputs,
        outputs,
        async run(feeds, output) {
          const named: tf.NamedTensorMap = {};
          for (const [n, f] of Object.entries(feeds)) named[inputs.find((i) => sameTensorName(i.name, n))?.name ?? n] = toFeedTensor(f);
          const outName = outputs.find((o) => sameTensorName(o.name, output))?.name ?? output;
          try {
            let res: tf.Tensor;
            try {
              res = model.execute(named, outName) as tf.Tensor;
            } catch {
              res = (await model.executeAsync(named, outName)) as tf.Tensor; // graphs with control flow
            }
            try {
              return await readOut(res);
            } finally {
              res.dispose();
            }
          } finally {
            tf.dispose(Object.values(named));
          }
        },
        runTensors(feeds, output) {
          const named: tf.NamedTensorMap = {};
          for (const [n, t] of Object.entries(feeds)) named[inputs.find((i) => sameTensorName(i.name, n))?.name ?? n] = t;
          return model.execute(named, outputs.find((o) => sameTensorName(o.name, output))?.name ?? output) as tf.Tensor;
        },
        async dispose() {
          model.dispose();
        },
      };
    }
    const model = await tf.loadLayersModel(handler);
    const inputs: TensorMeta[] = model.inputs.map((i) => ({ name: i.name, dims: dims(i.shape), dtype: i.dtype }));
    const outputs: TensorMeta[] = model.outputs.map((o) => ({ name: o.name, dims: dims(o.shape), dtype: o.dtype }));
    return {
      info,
      inputs,
      outputs,
      async run(feeds, output) {
        const ordered = inputs.map((i) => {
          const f = Object.entries(feeds).find(([n]) => sameTensorName(n, i.name))?.[1];
          if (!f) throw new CertsegError(`${shown}: no value for model input ${i.name}`, 'model');
          return toFeedTensor(f);
        });
        const oi = outputs.findIndex((o) => sameTensorName(o.name, output));
        try {
          const res = tf.tidy(() => {
            const r = model.predict(ordered.length === 1 ? ordered[0] : ordered);
            const all = Array.isArray(r) ? r : [r];
            return all[Math.max(0, oi)];
          });
          try {
            return await readOut(res);
          } finally {
            res.dispose();
          }
        } finally {
          tf.dispose(ordered);
        }
      },
      runTensors(feeds, output) {
        const ordered = inputs.map((i) => {
          const t = Object.entries(feeds).find(([n]) => sameTensorName(n, i.name))?.[1];
          if (!t) throw new CertsegError(`${shown}: no value for model input ${i.name}`, 'model');
          return t;
        });
        const r = model.predict(ordered.length === 1 ? ordered[0] : ordered);
        const all = Array.isArray(r) ? r : [r];
        return all[
          Math.max(
            0,
            outputs.findIndex((o) => sameTensorName(o.name, output)),
          )
        ];
      },
      async dispose() {
        model.dispose();
      },
    };
  } catch (e) {
    if (e instanceof CertsegError) throw e;
    throw new CertsegError(
      `${shown}: TensorFlow.js cannot load ${path.basename(file)} (${String((e as Error).message ?? e).split('\n')[0]})`,
      'model',
    );
  }
}
