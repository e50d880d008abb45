"""dbt's cross-database macros (`dbt.*`) as dbt-duckdb renders them, for sqlfluff."""


def type_string():
    return "varchar"


def type_int():
    return "integer"


def type_bigint():
    return "bigint"


def type_float():
    return "double"


def type_numeric():
    return "numeric(28, 6)"


def type_boolean():
    return "boolean"


def type_timestamp():
    return "timestamp"


def current_timestamp():
    return "now()"


def safe_cast(field, type):
    return f"try_cast({field} as {type})"


def hash(field):
    return f"md5(cast({field} as varchar))"


def concat(fields):
    return f"({' || '.join(fields)})"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    order_by = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order_by})"


def bool_or(expression):
    return f"bool_or({expression})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def datediff(first_date, second_date, datepart):
    return (
        f"date_diff('{datepart}', cast({first_date} as timestamp),"
        f" cast({second_date} as timestamp))"
    )


def generate_series(upper_bound):
    return f"select generated_number from range(1, {upper_bound} + 1) as p (generated_number)"


def date_spine(datepart, start_date, end_date):
    return (
        f"select unnest(generate_series({start_date}, {end_date},"
        f" interval '1 {datepart}')) as date_{datepart}"
    )
