import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { DomainError, FieldProblem } from './domain-error';

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = prefix ? (/^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`) : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Deepest nesting of objects and arrays any command accepts (deeper input would exhaust the transformer's stack). */
export const MAX_INPUT_DEPTH = 16;

type InputProblem = { path: string; kind: 'too-deep' | 'ill-formed' };

/**
 * The path of the first value nested deeper than `max`, or of the first string (key or value) that is not
 * well-formed Unicode (a lone surrogate: JSON allows `\udfff`, Postgres' jsonb and text refuse it), or null.
 * Iterative: the input may be arbitrarily deep.
 */
function inputProblem(input: unknown, max: number): InputProblem | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: input, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'string' && !value.isWellFormed()) return { path, kind: 'ill-formed' };
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) return { path, kind: 'too-deep' };
    for (const k of Object.keys(value)) if (!k.isWellFormed()) return { path: path || 'body', kind: 'ill-formed' };
    for (const [k, v] of Object.entries(value))
      stack.push({ value: v, depth: depth + 1, path: path ? (Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`) : k });
  }
  return null;
}

/**
 * Builds a command from untrusted input and validates it; unknown fields and wrong types are refused
 * (no implicit conversion: "12" is not a number). Throws INVALID_INPUT naming every offending field.
 */
export function validateCommand<T extends object>(cls: new () => T, input: unknown): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw DomainError.invalid([{ field: 'body', message: 'must be a JSON object' }]);
  }
  const problem = inputProblem(input, MAX_INPUT_DEPTH);
  if (problem?.kind === 'too-deep')
    throw DomainError.invalid([{ field: problem.path.split(/[.[]/)[0], message: `nests deeper than ${MAX_INPUT_DEPTH} levels` }]);
  if (problem?.kind === 'ill-formed')
    throw DomainError.invalid([{ field: problem.path, message: 'must be well-formed Unicode (no lone surrogate code units)' }]);
  const command = plainToInstance(cls, input, { enableImplicitConversion: false, exposeDefaultValues: true });
  const errors = validateSync(command, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) throw DomainError.invalid(flatten(errors));
  return command;
}
