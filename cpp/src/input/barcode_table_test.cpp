// BarcodeTable on its own: ids count up in insertion order, look-ups by
// string_view find exactly the names inserted, across many table growths.
#include "input/barcode_table.hpp"

#include <doctest/doctest.h>

#include <string>
#include <unordered_map>

using namespace fragcov;

TEST_CASE("BarcodeTable: ids in insertion order, found again after the table grows") {
    BarcodeTable table;
    CHECK(table.find("AAAC-1") == BarcodeTable::kNone);  // empty table
    std::unordered_map<std::string, uint32_t> expected;
    for (int i = 0; i < 5000; ++i) {  // 1024 slots at first: grows three times
        std::string name = "BC" + std::to_string(i * 31 % 5000) + "-1";
        CHECK(table.insert(name) == static_cast<uint32_t>(i));
        expected[name] = static_cast<uint32_t>(i);
    }
    CHECK(table.size() == 5000);
    for (const auto& [name, id] : expected) {
        CHECK(table.find(name) == id);
        CHECK(table.insert(name) == id);  // inserting again returns the same id
        CHECK(table.names()[id] == name);
    }
    CHECK(table.size() == 5000);
    CHECK(table.find("BC1-2") == BarcodeTable::kNone);
    CHECK(table.find("") == BarcodeTable::kNone);
    CHECK(table.find("BC1") == BarcodeTable::kNone);  // a prefix is not a match
}

TEST_CASE("BarcodeTable: names differing in one byte, or embedding NUL, are different barcodes") {
    BarcodeTable table;
    const std::string with_nul("A\0B", 3);
    CHECK(table.insert("A") == 0);
    CHECK(table.insert(with_nul) == 1);
    CHECK(table.insert("a") == 2);
    CHECK(table.find(std::string_view("A\0B", 3)) == 1);
    CHECK(table.find("A") == 0);
    CHECK(table.names()[1].size() == 3);
}
