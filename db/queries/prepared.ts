// Queries built and compiled once per shape, then run with new values: for the API's hot list reads.
import type { Compilable, CompiledQuery } from 'kysely';
import type { Db } from '../connection.js';

type Args = Record<string, string | number | undefined>;

interface Compiled<R> {
  query: CompiledQuery<R>;
  /** Where each argument goes in the compiled parameters. */
  slots: Array<[index: number, key: string]>;
}

/**
 * A Kysely query whose values change per call. Building and compiling a query walks and freezes
 * its whole operation tree, which costs more CPU than a short list's round trip to PostgreSQL.
 * Here `build` runs once per database handle and shape (which optional arguments are given),
 * with a placeholder for each given argument, and each call only swaps the placeholders in the
 * compiled parameters for its values. Every given argument must reach the SQL as a bound
 * parameter, never inlined (compiling checks it), and `build` may depend on which arguments are
 * given but never on their values.
 */
export class PreparedQuery<A extends Args, R> {
  private readonly byDb = new WeakMap<Db, Map<string, Compiled<R>>>();

  constructor(
    /** Every argument `build` reads, required and optional. */
    private readonly keys: ReadonlyArray<keyof A & string>,
    private readonly build: (db: Db, args: A) => Compilable<R>,
  ) {}

  async execute(db: Db, args: A): Promise<R[]> {
    let shape = '';
    for (const key of this.keys) if (args[key] !== undefined) shape += `${key},`;
    let shapes = this.byDb.get(db);
    if (!shapes) this.byDb.set(db, (shapes = new Map()));
    let compiled = shapes.get(shape);
    if (!compiled) shapes.set(shape, (compiled = this.compile(db, args)));
    const parameters = compiled.query.parameters.slice();
    for (const [index, key] of compiled.slots) parameters[index] = args[key];
    return (await db.executeQuery<R>({ ...compiled.query, parameters })).rows;
  }

  private compile(db: Db, args: A): Compiled<R> {
    const given = this.keys.filter((k) => args[k] !== undefined);
    const placeholder = (key: string) => `\u0000prepared:${key}\u0000`;
    const placeholders = Object.fromEntries(given.map((k) => [k, placeholder(k)])) as A;
    const query = this.build(db, placeholders).compile();
    const slots: Compiled<R>['slots'] = [];
    query.parameters.forEach((p, index) => {
      const key = given.find((k) => p === placeholder(k));
      if (key !== undefined) slots.push([index, key]);
    });
    for (const key of given) {
      if (!slots.some(([, k]) => k === key) || query.sql.includes(placeholder(key)))
        throw new Error(`prepared query: argument ${key} is not a bound parameter`);
    }
    return { query, slots };
  }
}
