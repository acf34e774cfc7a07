import type { AdmissionRequest, StatusCause } from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { PolicyContext, PolicyModule, PolicyVerdict } from '../shared/policy.js';
import type { JsonValue } from '../shared/admission.js';
import type { GroupBody, ModuleSpec, PolicyDefinition } from './definition.js';
import {
  evaluateGroupExpression,
  memberNameProblem,
  parseGroupExpression,
  type GroupExpression,
} from './group-expression.js';
import { RequestMatcher } from './match.js';
import { loadModule, type ModuleOrigin } from './modules.js';
import type { ModuleLoader, PolicyMode } from './types.js';

/** A policy ready to serve: compiled, or holding the reason it could not be. */
export interface LoadedPolicy {
  readonly id: string;
  readonly mode: PolicyMode;
  readonly allowedToMutate: boolean;
  readonly message?: string;
  readonly timeoutMs: number;
  readonly matcher?: RequestMatcher;
  readonly loadError?: string;
  /** The policy's own decision; throws `PalisadeError` for failures (timeouts, evaluation errors). */
  verdict(
    request: AdmissionRequest,
    context: PolicyContext,
    raw?: JsonValue,
  ): Promise<PolicyVerdict>;
  /** Releases what the modules hold (sandbox registrations); the policy must not be used after. */
  close(): void;
}

/**
 * Compiles a definition. Never throws: whatever goes wrong becomes `loadError`, and the
 * policy rejects every request with it, so one bad policy cannot keep the others from serving.
 */
export async function loadPolicy(
  def: PolicyDefinition,
  defaultTimeoutMs: number,
  loader?: ModuleLoader,
): Promise<LoadedPolicy> {
  const common = {
    id: def.id,
    mode: def.mode,
    allowedToMutate: def.body.type === 'policy' && def.body.allowedToMutate,
    // A group's message is its rejection message, not an override of it.
    ...(def.message !== undefined && def.body.type === 'policy' ? { message: def.message } : {}),
    timeoutMs: timeoutOf(def, defaultTimeoutMs),
  };
  try {
    if (def.readError !== undefined) throw new PalisadeError('manifest_invalid', def.readError);
    const matcher = def.match ? new RequestMatcher(def.match, 'spec.matchConditions') : undefined;
    const modules: PolicyModule[] = [];
    const track = (m: PolicyModule): PolicyModule => (modules.push(m), m);
    const close = (): void => {
      for (const m of modules) m.close?.();
    };
    try {
      const verdict =
        def.body.type === 'group'
          ? await groupVerdict(def, def.body, defaultTimeoutMs, (spec, origin) =>
              loadModule(spec, origin, loader).then(track),
            )
          : moduleVerdict(
              track(
                await loadModule(
                  def.body,
                  {
                    policyId: def.id,
                    source: def.source,
                    allowedToMutate: def.body.allowedToMutate,
                    timeoutMs: common.timeoutMs,
                  },
                  loader,
                ),
              ),
              common.timeoutMs,
            );
      return { ...common, ...(matcher ? { matcher } : {}), verdict, close };
    } catch (e) {
      close();
      throw e;
    }
  } catch (e) {
    const loadError = e instanceof PalisadeError ? e.message : `internal error: ${errorMessage(e)}`;
    return {
      ...common,
      loadError,
      verdict: () => Promise.reject(new PalisadeError('policy_load_failed', loadError)),
      close: () => undefined,
    };
  }
}

function timeoutOf(def: PolicyDefinition, defaultTimeoutMs: number): number {
  if (def.body.type === 'policy')
    return (def.body.timeoutEvalSeconds ?? defaultTimeoutMs / 1000) * 1000;
  return def.body.members.reduce(
    (sum, m) => sum + (m.timeoutEvalSeconds ?? defaultTimeoutMs / 1000) * 1000,
    0,
  );
}

function moduleVerdict(module: PolicyModule, timeoutMs: number): LoadedPolicy['verdict'] {
  return async (request, context, raw) =>
    module.validate({ request, context, timeoutMs, ...(raw !== undefined ? { raw } : {}) });
}

interface LoadedMember {
  readonly module: PolicyModule;
  readonly timeoutMs: number;
}

/**
 * A policy group: members evaluated in protect semantics, combined by the group's
 * expression. A member that tries to mutate counts as rejecting (groups never mutate).
 * On rejection the group's message is the answer and each member that rejected is a cause.
 */
async function groupVerdict(
  def: PolicyDefinition,
  body: GroupBody,
  defaultTimeoutMs: number,
  load: (spec: ModuleSpec, origin: ModuleOrigin) => Promise<PolicyModule>,
): Promise<LoadedPolicy['verdict']> {
  const groupId = def.id;
  const message = def.message ?? '';
  const problems = body.members.flatMap((m) => {
    const p = memberNameProblem(m.name);
    return p ? [`spec.policies.${m.name}: ${p}`] : [];
  });
  if (body.members.length === 0) problems.push('spec.policies: a group needs at least one policy');
  if (problems.length > 0) throw new PalisadeError('manifest_invalid', problems.join('; '));
  const members = new Map<string, LoadedMember>();
  for (const m of body.members) {
    const timeoutMs = (m.timeoutEvalSeconds ?? defaultTimeoutMs / 1000) * 1000;
    const origin = {
      policyId: `${groupId}/${m.name}`,
      source: def.source,
      allowedToMutate: false,
      timeoutMs,
    };
    members.set(m.name, { module: await load(m, origin), timeoutMs });
  }
  let tree: GroupExpression;
  try {
    tree = parseGroupExpression(body.expression, new Set(members.keys()));
  } catch (e) {
    throw new PalisadeError('group_expression_invalid', `spec.expression: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return async (request, context) => {
    const causes: StatusCause[] = [];
    const accepted = await evaluateGroupExpression(tree, async (name) => {
      const member = members.get(name);
      if (!member) throw new PalisadeError('internal_error', `${groupId}: unknown member ${name}`);
      const v = await member.module.validate({ request, context, timeoutMs: member.timeoutMs });
      const ok = v.accepted && v.mutatedObject === undefined;
      if (!ok) {
        const reason =
          v.mutatedObject !== undefined
            ? 'mutation is not allowed inside of policy group'
            : (v.message ?? 'rejected');
        causes.push({ field: `spec.policies.${name}`, message: reason });
      }
      return ok;
    });
    if (accepted) return { accepted: true };
    return { accepted: false, message, causes };
  };
}
