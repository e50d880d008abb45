{#- Who may read what on PostgreSQL (DuckDB has no roles: its BI readers get a separate
    published file that holds only the marts).

    Three NOLOGIN group roles; people and service accounts are granted membership:
    - bi_reader: BI tools and analysts, the marts only (PII hashed or left out);
    - marketing, sales: the marts and the `restricted` schema (clear contact details).
    The table privileges come from the `grants:` config in dbt_project.yml, so every
    build re-applies them to the tables it recreates. Roles are cluster-wide objects that
    dbt cannot create through config, so `on-run-start` creates the missing ones. -#}
{% macro access_roles() -%}
    {{ return(['bi_reader', 'marketing', 'sales']) }}
{%- endmacro %}

{% macro create_access_roles() -%}
    {{ return(adapter.dispatch('create_access_roles', 'leadbridge')()) }}
{%- endmacro %}

{% macro default__create_access_roles() -%}
{%- endmacro %}

{#- Idempotent, and safe when two builds race (duplicate_object). Creating a role needs
    CREATEROLE; where the dbt user lacks it, a DBA creates the roles once and this finds
    them and does nothing. -#}
{% macro postgres__create_access_roles() -%}
    {%- for role in access_roles() %}
    do $$
    begin
        if not exists (select from pg_catalog.pg_roles where rolname = '{{ role }}') then
            create role {{ role }} nologin;
        end if;
    exception
        when duplicate_object then null;
        when insufficient_privilege then
            raise exception 'role {{ role }} does not exist and % may not create roles: grant it CREATEROLE, or run once as an administrator: create role {{ role }} nologin', current_user;
    end
    $$;
    {%- endfor %}
{%- endmacro %}
