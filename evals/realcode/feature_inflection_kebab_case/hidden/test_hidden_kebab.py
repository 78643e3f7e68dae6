import inflection


def test_kebab_case_from_camel():
    assert inflection.kebab_case("DeviceType") == "device-type"
    assert inflection.kebab_case("HTTPServerError") == "http-server-error"


def test_kebab_case_from_snake_and_module_path():
    assert inflection.kebab_case("device_type") == "device-type"
    assert inflection.kebab_case("admin_users") == "admin-users"
