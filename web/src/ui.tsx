/** Small pieces every page uses. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export function Problem({ error }: { error: string | undefined }) {
  return error ? (
    <p class="problem" role="alert">
      {error}
    </p>
  ) : null;
}

export function Loading() {
  return <p aria-busy="true">Loading…</p>;
}

/** A button running an async action, showing its error beside it. */
export function Action(props: {
  label: string;
  run: () => Promise<unknown>;
  danger?: boolean;
  confirm?: string;
  name?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.run();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger ? "danger" : undefined}
        disabled={busy}
        aria-label={props.name}
        onClick={click}
      >
        {props.label}
      </button>
      {error && (
        <span class="problem" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

export function Card({ label, value }: { label: string; value: ComponentChildren }) {
  return (
    <div class="card">
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** A table of `rows` under a header of `columns`, or `empty` where there are no rows. */
export function Table<T>(props: {
  id: string;
  columns: string[];
  rows: T[];
  row: (item: T) => ComponentChildren;
  empty: ComponentChildren;
}) {
  if (props.rows.length === 0) return <Empty>{props.empty}</Empty>;
  return (
    <table id={props.id}>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{props.rows.map(props.row)}</tbody>
    </table>
  );
}
