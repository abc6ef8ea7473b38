"""The margin checker: margin calls and liquidations of isolated positions."""
