"""Reference data shipped with the package (countries, card limits), read once as package resources."""
