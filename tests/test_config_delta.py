"""A config kept as its differences from the platform config is the config again when made.

A cached tenant keeps only a :class:`~projections.config_delta.ConfigDelta` from the platform
config and its object is made again when it is read, so :func:`delta` and :func:`made` must be
exact inverses: the same config, the very same leaf objects, and every part the tenant shared
with the platform shared again (else a tenant read twice would cost memory the cache was built
to save). Tenant configs come from the definition's build for random platforms and overrides
(the strategies of the derivation tests).

:func:`made` rebuilds settings objects positionally (``cls(*values)``), which is right only for
classes that take every attribute, in order, unconverted: :func:`is_settings` decides that, and
every settings class of the schema is checked to be one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_tenant_derivation import (
    PROPERTY,
    _built,
    _world,
    domains,
    overrides,
    platforms,
    tenants_world,
)
from test_tenant_direct import ordinary_tenants

from eventstore.schema import AppConfig
from eventstore.schema.declare import META_KEY
from projections.config_delta import (
    ConfigDelta,
    Shape,
    delta,
    getter,
    is_settings,
    made,
    rebased,
)
from projections.tenant_derivation import meets, trie_of

#: dotted paths over a few segments, so that equal and nested paths are drawn often
PATHS = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(".".join)


def _leaves(shape: Shape, obj: Any) -> Iterator[Any]:
    """The objects of ``obj`` at the places ``shape`` keeps a value, in the delta's order."""
    cls, entries = shape
    assert type(obj) is cls
    attributes = getter(cls)(obj)
    for index, nested in entries:
        if nested is None:
            yield attributes[index]
        else:
            yield from _leaves(nested, attributes[index])


def _assert_shares_alike(original: Any, again: Any, base: Any, path: str = "") -> None:
    """Every part of ``original`` that is ``base``'s own object is ``base``'s in ``again``."""
    cls = type(original)
    for field, mine, theirs, made_again in zip(
        attrs.fields(cls), getter(cls)(original), getter(cls)(base), getter(cls)(again), strict=True
    ):
        where = f"{path}.{field.name}" if path else field.name
        if mine is theirs:
            assert made_again is theirs, f"{where} is no longer the platform's object"
        elif type(mine) is type(theirs) and is_settings(type(mine)):
            _assert_shares_alike(mine, made_again, theirs, where)


async def _tenant_and_platform(
    platform: dict[str, Any], values: dict[str, Any], domain: str | None
) -> tuple[AppConfig, AppConfig, AppConfig] | None:
    """Two separate definition builds of one tenant and the platform config (None: the
    platform or the tenant is refused)."""
    world, tenant = await _world(values, domain)
    if not await world.save(platform):
        return None
    first, second = world.expected(tenant, values), world.expected(tenant, values)
    if isinstance(first, str) or isinstance(second, str):
        return None
    return first[0], second[0], world.current[1]


@PROPERTY
@given(platforms, overrides, domains)
async def test_a_tenant_config_made_again_from_its_delta_is_the_same_config(
    platform: dict[str, Any], values: dict[str, Any], domain: str | None
) -> None:
    """The cache serves a config made again from its delta: it must equal the one built, hold
    the very leaf objects the delta kept, and share with the platform all the original
    shared (the memory a cached tenant saves)."""
    built = await _tenant_and_platform(platform, values, domain)
    if built is None:
        return
    config, _, base = built
    differences = delta(config, base)
    assert differences.base is base
    again = made(differences.shape, base, differences.values)
    assert again == config
    assert differences.made() == config
    kept = list(_leaves(differences.shape, config))
    assert len(kept) == len(differences.values)
    assert all(value is found for value, found in zip(differences.values, kept, strict=True))
    assert list(_leaves(differences.shape, again)) == kept
    assert all(a is b for a, b in zip(_leaves(differences.shape, again), kept, strict=True))
    _assert_shares_alike(config, again, base)


@PROPERTY
@given(platforms, overrides, domains)
async def test_tenants_differing_at_the_same_places_share_one_shape(
    platform: dict[str, Any], values: dict[str, Any], domain: str | None
) -> None:
    """Every cached tenant keeps a shape; tenants that differ from the platform at the same
    places must keep one shape object, or the shapes would cost as much as the configs."""
    built = await _tenant_and_platform(platform, values, domain)
    if built is None:
        return
    first, second, base = built
    one, other = delta(first, base), delta(second, base)
    assert one.shape == other.shape
    assert one.shape is other.shape
    assert one.values == other.values


async def test_two_tenants_with_the_same_overridden_paths_share_one_shape() -> None:
    """The interning seen across tenants of a cache: two tenants overriding the same settings
    with other values keep one shape object and their own values."""
    world = await tenants_world(ordinary_tenants(4), max_size=4, held=4)
    one = (await world.configs.get("t1")).delta
    other = (await world.configs.get("t3")).delta
    assert one.shape is other.shape
    assert one.values != other.values
    assert one.base is other.base is world.current[1]


async def test_the_delta_of_the_platform_from_itself_is_empty() -> None:
    """A tenant without overrides costs no values, and its config made again is the platform's
    own object."""
    world, _ = await _world({}, None)
    platform = world.current[1]
    nothing = delta(platform, platform)
    assert nothing.shape == (AppConfig, ())
    assert nothing.shape[1] == ()
    assert nothing.values == ()
    assert nothing.made() is platform


async def test_a_delta_needs_two_objects_of_one_settings_class() -> None:
    """Two objects of different classes (or values that are not settings objects) have no
    positional differences to keep: refused rather than kept wrongly."""
    world, _ = await _world({}, None)
    platform = world.current[1]
    with pytest.raises(TypeError):
        delta(platform, platform.branding)
    with pytest.raises(TypeError):
        delta(platform.branding, platform)
    with pytest.raises(TypeError):
        delta("a", "b")
    with pytest.raises(TypeError):
        delta({"a": 1}, {"a": 1})


def _one_more(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*values, "extra")


def _one_fewer(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return values[:-1]


def _none(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return ()


@pytest.mark.parametrize(
    "wrong",
    [_one_more, _one_fewer, _none],
)
async def test_made_refuses_values_that_do_not_fit_the_shape(wrong: Any) -> None:
    """Values that are not the shape's (a delta put together wrongly) must not make a config
    with settings shifted to other places."""
    world, _ = await _world(
        {"branding.companyName": "Acme", "oidc.token_ttl.access_token": 900}, None
    )
    differences = (await world.configs.get("acme")).delta
    assert differences.values
    with pytest.raises(ValueError, match="values"):
        made(differences.shape, differences.base, wrong(differences.values))
    with pytest.raises(ValueError, match="values"):
        ConfigDelta(differences.base, differences.shape, wrong(differences.values)).made()


def _settings_classes(cls: type, found: list[type]) -> list[type]:
    """``cls`` and every settings class reachable from it through the schema's sections."""
    if cls not in found:
        found.append(cls)
        for field in attrs.fields(cls):
            nested = field.metadata[META_KEY].nested
            if nested is not None:
                _settings_classes(nested, found)
    return found


def _instances(obj: Any, found: dict[type, Any]) -> dict[type, Any]:
    """One instance of each settings class in the config ``obj`` (the first met)."""
    found.setdefault(type(obj), obj)
    for field in attrs.fields(type(obj)):
        if field.metadata[META_KEY].nested is not None:
            value = getattr(obj, field.name)
            if value is not None:
                _instances(value, found)
    return found


async def test_every_settings_class_of_the_schema_is_made_positionally() -> None:
    """``made`` and the direct build construct each settings class from its attributes in
    declaration order, unconverted: a class given a converter, a validator, a keyword-only or
    renamed attribute would be built wrongly (or kept whole) without this failing first."""
    classes = _settings_classes(AppConfig, [])
    assert len(classes) > 50
    not_settings = [cls.__name__ for cls in classes if not is_settings(cls)]
    assert not_settings == []
    world, _ = await _world({}, None)
    instances = _instances(world.current[1], {})
    for cls in classes:
        # (an optional section the default config leaves out: its class's defaults)
        instance = instances[cls] if cls in instances else cls()
        attributes = getter(cls)(instance)
        assert len(attributes) == len(attrs.fields(cls))
        again = cls(*attributes)
        assert again == instance, cls.__name__
        assert all(a is b for a, b in zip(getter(cls)(again), attributes, strict=True))


# --- a delta laid on a new platform config -------------------------------------------------


async def test_a_delta_laid_on_a_changed_platform_is_the_tenant_on_that_platform() -> None:
    """A platform change clear of what the tenant differs in: its differences laid on the new
    platform config are what the definition builds, and the parts no change reaches are the
    tenant's previous objects."""
    values = {"application.locales.default": "de", "branding.colors.light.primary": "#123456"}
    world, tenant = await _world(values, None)
    first = await world.configs.get("acme")
    before = first.config
    assert await world.save({"branding.fonts.mono": "Iosevka"})
    trie = trie_of(["branding.fonts.mono"])
    again = rebased(first.delta, world.current[1], trie, before)
    expected = world.expected(tenant, values)
    assert not isinstance(expected, str)
    assert again == expected[0]
    assert again.branding.colors is before.branding.colors
    assert again.branding.fonts is world.current[1].branding.fonts
    # without the previous object at hand, the same config made from the differences
    assert rebased(first.delta, world.current[1], trie) == again


async def test_a_delta_is_not_laid_where_a_change_meets_its_values_or_breaks_a_rule() -> None:
    """A change at a value the tenant keeps its own of, or one that makes the tenant's
    combination invalid (its default locale no longer available), is not laid on: the cache
    derives the tenant the general way, which refuses it as the definition does."""
    values = {"application.locales.default": "de"}
    world, tenant = await _world(values, None)
    first = await world.configs.get("acme")
    assert await world.save({"application.locales.available": ["en", "fr"]})
    trie = trie_of(["application.locales.available"])
    assert rebased(first.delta, world.current[1], trie) is None  # the refinement fails
    assert rebased(first.delta, world.current[1], trie_of(["application.locales.default"])) is None
    expected = world.expected(tenant, values)
    assert isinstance(expected, str)
    assert "application.locales.default" in expected
    found = await _built(world.configs)
    assert found == expected


@given(st.lists(PATHS, max_size=4), st.lists(PATHS, max_size=4))
def test_two_sets_of_paths_meet_when_one_path_is_another_or_inside_it(
    one: list[str], other: list[str]
) -> None:
    def inside(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")

    expected = any(inside(a, b) for a in one for b in other)
    assert meets(one, other) is expected
