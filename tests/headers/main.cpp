// The header TUs only need to compile; running this proves they also link into one program.
int main() { return 0; }
