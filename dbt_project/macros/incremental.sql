{#- The materialization of an incremental model that replaces rows by a condition
    (`delete+insert`). Spark without Delta Lake cannot delete or merge, and its
    `insert_overwrite` replaces whole partitions: a look-back window touches every
    partition, so it would rewrite them all anyway. On Spark such a model is a table,
    rebuilt every run (the same rows an incremental run gives). -#}
{% macro incremental_or_table() -%}
    {{ return(adapter.dispatch('incremental_or_table', 'leadbridge')()) }}
{%- endmacro %}

{% macro default__incremental_or_table() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_or_table() -%}
    {{ return('table') }}
{%- endmacro %}

{#- Incremental on the people touched: a model stores on each row the fingerprint of its
    person's inputs (`build_fingerprint`); `fingerprints` is a relation holding tonight's
    (person_id, build_fingerprint), one or more rows per person. A stored fingerprint that is no longer
    current (the person's inputs changed, or the person was merged away or removed) drops
    its rows before the run; the people whose current fingerprint is then not stored are
    rebuilt whole. A person's fingerprint must differ from every other person's (hash the
    person_id in), or a changed person could take an untouched person's fingerprint. -#}

{#- The pre-hook's delete: the rows of the people whose fingerprint changed, and the
    rows `also_where` names (a look-back window, an as-of slice). -#}
{% macro delete_rows_of_changed_people(fingerprints, also_where=none) -%}
{%- if is_incremental() -%}
delete from {{ this }} as stored where
{%- if also_where %} ({{ also_where }}) or{% endif %} not exists (
    select 1 from {{ fingerprints }} as current_fingerprints
    where current_fingerprints.build_fingerprint = stored.build_fingerprint
)
{%- endif -%}
{%- endmacro %}

{#- After that delete: the people none of whose rows survived (new, or changed). -#}
{% macro rebuilt_people(fingerprints) -%}
    select distinct current_fingerprints.person_id
    from {{ fingerprints }} as current_fingerprints
    where not exists (
        select 1 from {{ this }} as kept where kept.build_fingerprint = current_fingerprints.build_fingerprint
    )
{%- endmacro %}

{#- The start of fct_lead_events' look-back window: the rows it replaces every night. -#}
{% macro lead_events_window_start() -%}
    {{ dbt.dateadd('day', -1 * var('lead_events_lookback_days'), leadbridge_now()) }}
{%- endmacro %}

{#- A data test configured `where: __rebuilt_rows__` on a big incremental model reads the
    rows the model's last run wrote (`built_at`: the night it built, one value per
    run), so a night tests what it rebuilt, not the years it
    kept; var('full_tests') (the weekly or a forced night) tests every row. Fit for
    not_null and for relationships to parents whose change restates the rows (the
    fingerprint covers them); unique stays whole (a duplicate between a rebuilt row and a
    kept one is what it is for). dbt's own hook for `where` (get_where_subquery), as its
    docs suggest: a generic test's config cannot call a project macro. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where == '__rebuilt_rows__' -%}
        {%- set where = 'true' if var('full_tests') else 'built_at = (select max(built_at) from ' ~ relation ~ ')' -%}
    {%- endif -%}
    {%- if where -%}
        (select * from {{ relation }} where {{ where }}) as dbt_subquery
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- The `built_at` column of an incremental model's rows: the night the build is for, not
    the wall clock, so that building the same night again writes the same rows (a re-run
    changes no mart, and the publication keeps them). A night built for an earlier
    `as_of` than rows already kept tests those newer rows instead of its own. -#}
{% macro built_at() -%}
    {{ leadbridge_now() }}
{%- endmacro %}

{#- In an incremental run, whether `person_id` is a rebuilt person (the model's
    `rebuilt_persons` CTE, from rebuilt_people()); else true. Each input filters its own
    rows early, before joins and window functions, so a night reads the rebuilt people's
    rows, not everyone's. -#}
{% macro of_rebuilt_people(person_id) -%}
    {%- if is_incremental() -%}
        {{ person_id }} in (select person_id from rebuilt_persons)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A row of fct_lead_events an incremental run writes: in the look-back window, or of a
    rebuilt person. Each event source filters its own rows, before the union and the join
    to the fingerprints. -#}
{% macro lead_events_in_scope(occurred_at, person_id) -%}
    {%- if is_incremental() -%}
        ({{ occurred_at }} >= {{ lead_events_window_start() }} or {{ of_rebuilt_people(person_id) }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- dbt's own rule (the model's `full_refresh` config, else `--full-refresh`), and one more:
    an incremental model whose stored table lacks a column its YAML declares is rebuilt
    whole. An upgrade that adds a column (a fingerprint, `built_at`) to an incremental model
    would otherwise stop the first night after it, in the pre-hook's delete or on dbt's
    "schemas out of sync", until someone ran a full refresh by hand. Overrides dbt's
    global macro: is_incremental() and the materialization both ask it. -#}
{% macro should_full_refresh() %}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is none -%}{%- set configured = flags.FULL_REFRESH -%}{%- endif -%}
    {%- if configured or not execute or model.resource_type != 'model'
        or model.config.materialized != 'incremental' -%}
        {{ return(configured) }}
    {%- endif -%}
    {{ return(stored_columns_missing() | length > 0) }}
{% endmacro %}

{#- The columns the model's YAML declares that its stored table lacks (none when it is
    not stored yet: dbt then builds it whole anyway). Kept in the node's context, which
    asks several times. -#}
{% macro stored_columns_missing() %}
    {%- if 'leadbridge_columns_missing' in model -%}
        {{ return(model['leadbridge_columns_missing']) }}
    {%- endif -%}
    {%- set missing = [] -%}
    {%- set stored_relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if stored_relation is not none -%}
        {%- set stored = adapter.get_columns_in_relation(stored_relation) | map(attribute='name') | map('lower') | list -%}
        {%- for name in model.columns -%}
            {%- if name | lower not in stored -%}{%- do missing.append(name) -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if missing -%}
        {%- do log(this.schema ~ "." ~ this.identifier ~ ": rebuilt whole, its stored table lacks "
            ~ missing | join(", "), info=true) -%}
    {%- endif -%}
    {%- do model.update({'leadbridge_columns_missing': missing}) -%}
    {{ return(missing) }}
{% endmacro %}
