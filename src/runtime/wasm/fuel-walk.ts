import type binaryenModule from 'binaryen';
import { PalisadeError } from '../../shared/errors.js';

/**
 * Finds the places fuel is charged at, walking binaryen IR through binaryen.js's
 * per-expression getters. binaryen.js has no generic "children" accessor, so the child
 * getters of every expression class are listed here (from binaryen-c.h, version 132).
 * An expression class missing from the list stops instrumentation with an error rather
 * than being skipped: a loop hidden below it would run unmetered.
 */

export type Binaryen = typeof binaryenModule;
type Ref = number;

/** Child getters per class: a name for one child (0 when absent), `name*` for a counted list. */
const CHILDREN: Readonly<Record<string, readonly string[]>> = {
  Block: ['Child*'],
  If: ['Condition', 'IfTrue', 'IfFalse'],
  Loop: ['Body'],
  Break: ['Condition', 'Value'],
  Switch: ['Condition', 'Value'],
  Call: ['Operand*'],
  CallIndirect: ['Target', 'Operand*'],
  CallRef: ['Target', 'Operand*'],
  LocalSet: ['Value'],
  GlobalSet: ['Value'],
  TableGet: ['Index'],
  TableSet: ['Index', 'Value'],
  TableGrow: ['Value', 'Delta'],
  MemoryGrow: ['Delta'],
  Load: ['Ptr'],
  Store: ['Ptr', 'Value'],
  Unary: ['Value'],
  Binary: ['Left', 'Right'],
  Select: ['IfTrue', 'IfFalse', 'Condition'],
  Drop: ['Value'],
  Return: ['Value'],
  AtomicRMW: ['Ptr', 'Value'],
  AtomicCmpxchg: ['Ptr', 'Expected', 'Replacement'],
  AtomicWait: ['Ptr', 'Expected', 'Timeout'],
  AtomicNotify: ['Ptr', 'NotifyCount'],
  SIMDExtract: ['Vec'],
  SIMDReplace: ['Vec', 'Value'],
  SIMDShuffle: ['Left', 'Right'],
  SIMDTernary: ['A', 'B', 'C'],
  SIMDShift: ['Vec', 'Shift'],
  SIMDLoad: ['Ptr'],
  SIMDLoadStoreLane: ['Ptr', 'Vec'],
  MemoryInit: ['Dest', 'Offset', 'Size'],
  MemoryCopy: ['Dest', 'Source', 'Size'],
  MemoryFill: ['Dest', 'Value', 'Size'],
  RefIsNull: ['Value'],
  RefAs: ['Value'],
  RefEq: ['Left', 'Right'],
  Try: ['Body', 'CatchBody*'],
  Throw: ['Operand*'],
  TupleMake: ['Operand*'],
  TupleExtract: ['Tuple'],
  RefI31: ['Value'],
  I31Get: ['I31'],
  RefTest: ['Ref'],
  RefCast: ['Ref'],
  BrOn: ['Ref'],
  StructNew: ['Operand*'],
  StructGet: ['Ref'],
  StructSet: ['Ref', 'Value'],
  ArrayNew: ['Init', 'Size'],
  ArrayNewFixed: ['Value*'],
  ArrayNewData: ['Offset', 'Size'],
  ArrayNewElem: ['Offset', 'Size'],
  ArrayGet: ['Ref', 'Index'],
  ArraySet: ['Ref', 'Index', 'Value'],
  ArrayLen: ['Ref'],
  ArrayFill: ['Ref', 'Index', 'Value', 'Size'],
  ArrayCopy: ['DestRef', 'DestIndex', 'SrcRef', 'SrcIndex', 'Length'],
  ArrayInitData: ['Ref', 'Index', 'Offset', 'Size'],
  ArrayInitElem: ['Ref', 'Index', 'Offset', 'Size'],
  Nop: [],
  Const: [],
  LocalGet: [],
  GlobalGet: [],
  MemorySize: [],
  Unreachable: [],
  AtomicFence: [],
  DataDrop: [],
  RefNull: [],
  RefFunc: [],
  TableSize: [],
  Rethrow: [],
  Pop: [],
};

const PLURALS: Readonly<Record<string, string>> = { Child: 'Children', CatchBody: 'CatchBodies' };

const TAIL_CALLS = ['Call', 'CallIndirect', 'CallRef'];

type Getter = (e: Ref, i?: number) => Ref;
type Visit = (e: Ref, push: (child: Ref) => void) => void;

/** Statics binaryen.js has at run time but its typings declare elsewhere. */
export interface BinaryenStatics {
  readonly Function: {
    getName(f: Ref): string;
    getBody(f: Ref): Ref;
    setBody(f: Ref, body: Ref): void;
  };
  readonly Loop: { getBody(e: Ref): Ref; setBody(e: Ref, body: Ref): void };
}

export function staticsOf(b: Binaryen): BinaryenStatics {
  return b as unknown as BinaryenStatics;
}

export interface ExpressionWalker {
  /** Walks a function body; returns its loops and whether it makes tail calls. */
  walk(body: Ref, functionName: string): { loops: Ref[]; tailCalls: boolean };
}

/** Builds the per-id visitors once per binaryen instance. */
export function createWalker(b: Binaryen): ExpressionWalker {
  const api = b as unknown as Record<string, unknown>;
  const visitors = new Map<number, Visit>();
  const tailCallIds = new Set<number>();
  const isReturn = new Map<number, Getter>();
  for (const [cls, fields] of Object.entries(CHILDREN)) {
    const id = api[`${cls}Id`];
    const statics = (api[cls] ?? {}) as Record<string, Getter | undefined>;
    if (typeof id !== 'number') throw apiMissing(`${cls}Id`);
    const getters = fields.map((f) => childVisitor(statics, cls, f));
    visitors.set(id, (e, push) => {
      for (const g of getters) g(e, push);
    });
    const returns = statics.isReturn;
    if (TAIL_CALLS.includes(cls)) {
      if (!returns) throw apiMissing(`${cls}.isReturn`);
      tailCallIds.add(id);
      isReturn.set(id, returns);
    }
  }
  return {
    walk(body, functionName) {
      const loops: Ref[] = [];
      let tailCalls = false;
      const loopId: number = b.LoopId;
      const stack: Ref[] = [body];
      const push = (child: Ref) => {
        if (child !== 0) stack.push(child);
      };
      for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
        const id: number = b.getExpressionId(e);
        const visit = visitors.get(id);
        if (!visit) throw unknownExpression(functionName, id);
        if (id === loopId) loops.push(e);
        else if (tailCallIds.has(id) && isReturn.get(id)?.(e)) tailCalls = true;
        visit(e, push);
      }
      return { loops, tailCalls };
    },
  };
}

function childVisitor(
  statics: Record<string, Getter | undefined>,
  cls: string,
  field: string,
): Visit {
  if (field.endsWith('*')) {
    const base = field.slice(0, -1);
    const count = statics[`getNum${PLURALS[base] ?? `${base}s`}`];
    const at = statics[`get${base}At`];
    if (!count || !at) throw apiMissing(`${cls}.get${base}At`);
    return (e, push) => {
      const n = count(e);
      for (let i = 0; i < n; i++) push(at(e, i));
    };
  }
  const get = statics[`get${field}`];
  if (!get) throw apiMissing(`${cls}.get${field}`);
  return (e, push) => {
    push(get(e));
  };
}

function unknownExpression(functionName: string, id: number): PalisadeError {
  return new PalisadeError(
    'module_invalid',
    `cannot add fuel metering to function "${functionName}": it uses an instruction (binaryen expression id ${id}) that binaryen.js does not expose, so loops below it could not be metered`,
  );
}

/** binaryen.js changed under us (a major upgrade): a Palisade bug, not the module's fault. */
function apiMissing(what: string): PalisadeError {
  return new PalisadeError('internal_error', `binaryen.js has no ${what}; fuel metering needs it`);
}
