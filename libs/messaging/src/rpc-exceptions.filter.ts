import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter turns every error into a generic "Internal server error". Consumers need the
 * original (DeadLetter, RetryLater, ...) to decide the message's fate, so pass it through untouched.
 */
@Catch()
export class PassThroughRpcExceptions implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
