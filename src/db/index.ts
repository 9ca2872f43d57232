export { migrations } from "./migrations.ts";
export { type Db, type Dialect, databaseUrlProblem, isPostgresUrl, openDatabase } from "./open.ts";
export type * from "./schema.ts";
