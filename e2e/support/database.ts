/** Ground truth read straight from the services' tables: what the system really did. */
import pg from "pg";

export function openDatabase(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    async scalar(sql: string, params: unknown[] = []): Promise<number> {
      const { rows } = await pool.query(sql, params);
      return Number(Object.values(rows[0] ?? { n: 0 })[0]);
    },
    query: (sql: string, params: unknown[] = []) => pool.query(sql, params),
    close: () => pool.end(),
  };
}
