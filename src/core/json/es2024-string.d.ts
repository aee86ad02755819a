// String.prototype.isWellFormed is ES2024 (Node 20 has it; the tsconfig lib is ES2023).
interface String {
  isWellFormed(): boolean;
}
