import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { ormConfig, RequestContextMiddleware } from '@app/database';
import { UploadSession } from '@app/domain';
import { testEnv } from '../support/test-env';

/** The HTTP request context: one EntityManager fork per request, made only when the request first uses the ORM. */
describe('request context (integration, Postgres)', () => {
  let orm: MikroORM;
  let middleware: RequestContextMiddleware;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(testEnv().DATABASE_URL, { poolMax: 2 }));
    middleware = new RequestContextMiddleware(orm);
  });
  afterAll(() => orm?.close());

  const inRequest = <T>(work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => middleware.use(undefined, undefined, () => void work().then(resolve, reject)));
  const forks = () => RequestContext.currentRequestContext()!.map.size;

  it('a request that never uses the ORM forks nothing; one that does gets its own fork, the same all along', async () => {
    await inRequest(async () => {
      expect(forks()).toBe(0);
    });
    const [a, b] = await Promise.all(
      [1, 2].map(() =>
        inRequest(async () => {
          expect(forks()).toBe(0);
          const em = orm.em.getContext();
          expect(em).not.toBe(orm.em);
          expect(forks()).toBe(1);
          await em.count(UploadSession, {});
          expect(orm.em.getContext()).toBe(em);
          return em;
        }),
      ),
    );
    expect(a).not.toBe(b);
  });
});
