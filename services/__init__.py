"""The trading platform's Python services: one package, one subpackage per service."""
