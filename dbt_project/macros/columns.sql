{#- `column_name` of `relation` cast to `type`, or a typed null while the relation lacks
    it: a raw table gains a column only once the org gains the field (a custom field an
    admin creates later), and the models must build before and after. -#}
{% macro column_or_null(relation, column_name, type) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower == column_name | lower -%}
                {%- do present.append(column.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if present -%}
        cast({{ adapter.quote(present[0]) }} as {{ type }})
    {%- else -%}
        cast(null as {{ type }})
    {%- endif -%}
{%- endmacro %}
