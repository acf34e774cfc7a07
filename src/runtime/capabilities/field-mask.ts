import { isJsonObject, type JsonValue } from '../../shared/admission.js';

interface MaskNode {
  readonly children: Map<string, MaskNode>;
}

function buildTree(paths: readonly string[]): MaskNode {
  const root: MaskNode = { children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const part of path.split('.')) {
      let child = node.children.get(part);
      if (child === undefined) {
        child = { children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
  }
  return root;
}

function prune(value: JsonValue, node: MaskNode): JsonValue {
  if (node.children.size === 0) return value;
  if (Array.isArray(value)) return value.map((item) => prune(item, node));
  if (!isJsonObject(value)) return value;
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value)) {
    const child = node.children.get(key);
    if (child !== undefined) out[key] = prune(item, child);
  }
  return out;
}

/**
 * Kubewarden 1.33's field masks (`field_mask.rs`): an allow-list of dot paths; a path that ends
 * keeps everything below it, and arrays are transparent (the mask applies to every item). Returns
 * a pruned copy, so cached objects stay whole for the next caller with other masks.
 */
export function applyFieldMasks(value: JsonValue, masks: readonly string[]): JsonValue {
  return prune(value, buildTree(masks));
}

const ALWAYS_KEPT = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * Masks a Kubernetes object the way Kubewarden does: the masks prune the object's `data` (kube's
 * `DynamicObject`), so `apiVersion`, `kind` and `metadata` always come back whole.
 */
export function maskKubernetesObject(object: JsonValue, masks: readonly string[]): JsonValue {
  if (!isJsonObject(object)) return applyFieldMasks(object, masks);
  const tree = buildTree(masks);
  if (tree.children.size === 0) return object;
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(object)) {
    if (ALWAYS_KEPT.has(key)) out[key] = item;
    else {
      const child = tree.children.get(key);
      if (child !== undefined) out[key] = prune(item, child);
    }
  }
  return out;
}
