import type { Child } from 'hono/jsx';

/** One column heading of a `Table`; numeric columns are right-aligned. */
export interface Column {
  label: string;
  numeric?: boolean;
}

/** Props of `Table`. */
export interface TableProps {
  columns: Column[];
  /** The `<tr>` rows. */
  rows: Child[];
  /** Shown in place of the rows when there are none. */
  empty: string;
}

/** A data table with the console's styling and an empty state. */
export function Table({ columns, rows, empty }: TableProps) {
  return (
    <table>
      <thead>
        <tr>
          {columns.map((col) => (
            <th class={col.numeric ? 'num' : undefined}>{col.label}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length > 0 ? (
          rows
        ) : (
          <tr>
            <td class="empty" colspan={columns.length}>
              {empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
