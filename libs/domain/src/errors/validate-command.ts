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

/**
 * Builds a command from untrusted input and validates it; unknown fields and wrong types are refused
 * (no implicit conversion: "12" is not a number). Throws INVALID_INPUT naming every offending field.
 */
export function validateCommand<T extends object>(cls: new () => T, input: unknown): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw DomainError.invalid([{ field: 'body', message: 'must be a JSON object' }]);
  }
  const command = plainToInstance(cls, input, { enableImplicitConversion: false, exposeDefaultValues: true });
  const errors = validateSync(command, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) throw DomainError.invalid(flatten(errors));
  return command;
}
