# The real tier: every test of real_tests runs once per Apache Kafka version, against clusters a
# ctest fixture starts from Kafka's jars on Maven Central (scripts/kafka fixture-up: a 1-broker
# source and a 3-broker target, every listener kind) and stops afterwards (fixture-down).
# The tests of one version run one at a time (some restart brokers); unit and mock tests run
# beside them. Versions run one after the other: a version's clusters start only after the previous
# version's were stopped, so at most four brokers share the machine.
#
# When Java, Maven or the jars are missing the fixture records why and every real test reports
# SKIPPED with that reason; with TIERMIRROR_WITH_KAFKA=1 in the environment (.ci/run) a missing
# piece fails the fixture instead, so the tier cannot be skipped silently where it was asked for.
set(TIERMIRROR_KAFKA_VERSIONS "4.4.0;3.9.2;2.8.2" CACHE STRING
    "Apache Kafka versions of the real tier (KRaft for 3.x and 4.x, ZooKeeper for 2.x)")

set(kafka_script ${PROJECT_SOURCE_DIR}/scripts/kafka)
find_program(TIERMIRROR_PYTHON3 python3 HINTS /usr/bin)  # Debian's, before any shim on PATH
set(previous "")
foreach(version IN LISTS TIERMIRROR_KAFKA_VERSIONS)
  set(fixture kafka-${version})
  set(dir ${PROJECT_BINARY_DIR}/real/${fixture})
  if(TIERMIRROR_PYTHON3)
    add_test(NAME real.${fixture}.up COMMAND ${TIERMIRROR_PYTHON3} ${kafka_script} fixture-up ${version} ${dir})
    add_test(NAME real.${fixture}.down COMMAND ${TIERMIRROR_PYTHON3} ${kafka_script} fixture-down ${dir})
  else()  # scripts/kafka cannot run: every real test skips with this reason
    add_test(NAME real.${fixture}.up COMMAND sh -c
      "mkdir -p '${dir}' && echo \"UNAVAILABLE=python3 not found: TIERMIRROR_WITH_KAFKA=1 scripts/install-deps\" > '${dir}/fixture.env'")
    add_test(NAME real.${fixture}.down COMMAND true)
  endif()
  set_tests_properties(real.${fixture}.up PROPERTIES
    LABELS real FIXTURES_SETUP ${fixture} TIMEOUT 900 RESOURCE_LOCK kafka-fixture)
  set_tests_properties(real.${fixture}.down PROPERTIES
    LABELS real FIXTURES_CLEANUP ${fixture} TIMEOUT 120 RESOURCE_LOCK kafka-fixture)
  if(previous)
    set_tests_properties(real.${fixture}.up PROPERTIES DEPENDS real.kafka-${previous}.down)
  endif()
  gtest_discover_tests(real_tests
    TEST_PREFIX "${fixture}."
    DISCOVERY_TIMEOUT 60
    PROPERTIES
      LABELS real
      FIXTURES_REQUIRED ${fixture}
      TIMEOUT 900
      RESOURCE_LOCK ${fixture}
      ENVIRONMENT "TIERMIRROR_REAL_FIXTURE=${dir}/fixture.env")
  set(previous ${version})
endforeach()
