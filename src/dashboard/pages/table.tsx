/**
 * The one table of every dashboard page: a wrapper that scrolls sideways on a phone (nothing else may be wider than
 * the screen), an optional caption, column headers with scope, one row per item. Numeric columns are right-aligned
 * (`num`), a column may be the row's header, and `field` marks a column's cells for whoever reads one column. The
 * wrapper is a named, focusable region, so a keyboard can scroll it too.
 */
import type { Child } from "hono/jsx";

export interface Column<R> {
  readonly header: Child;
  readonly cell: (row: R) => Child;
  /** A numeric column: right-aligned header and cells. */
  readonly num?: boolean;
  /** The cells are the rows' headers (th scope="row"). */
  readonly rowHeader?: boolean;
  /** The cells' data-field. */
  readonly field?: string;
  /** Further attributes of each cell. */
  readonly attrs?: (row: R) => Readonly<Record<string, string>>;
}

export interface TableProps<R> {
  /** data-table: which table this is. */
  readonly name?: string;
  readonly caption?: Child;
  /** The scrolling region's name for assistive technology (default: the caption when it is text, else the name). */
  readonly label?: string;
  readonly captionClass?: string;
  /** The columns; `false` leaves one out (a column only admins see). */
  readonly columns: readonly (Column<R> | false)[];
  readonly rows: readonly R[];
  /** Attributes of each row (data-* ids the pages' tests and links use). */
  readonly rowAttrs?: (row: R) => Readonly<Record<string, string>>;
}

export function Table<R>(props: TableProps<R>) {
  const columns = props.columns.filter((c): c is Column<R> => c !== false);
  return (
    <section
      class="table-wrap"
      tabindex={0}
      aria-label={props.label ?? (typeof props.caption === "string" ? props.caption : (props.name ?? "table"))}
    >
      <table data-table={props.name}>
        {props.caption !== undefined && <caption class={props.captionClass}>{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.num ? "num" : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr {...props.rowAttrs?.(row)}>
              {columns.map((c) =>
                c.rowHeader ? (
                  <th scope="row" {...c.attrs?.(row)}>
                    {c.cell(row)}
                  </th>
                ) : (
                  <td class={c.num ? "num" : undefined} data-field={c.field} {...c.attrs?.(row)}>
                    {c.cell(row)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
