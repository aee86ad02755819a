/** Writes a new account (and its first login) in one transaction; a taken id, even by a racing request, is M_USER_IN_USE. */
import { MatrixError } from "../../../core/errors.js";
import { UniqueViolationError, type NewLogin, type NewUser, type UserStore } from "../../../storage/ports.js";

export async function createAccount(users: UserStore, user: NewUser, login: NewLogin | undefined): Promise<void> {
  try {
    await users.createUser(user, login);
  } catch (e) {
    if (e instanceof UniqueViolationError && e.what === "user") throw new MatrixError("M_USER_IN_USE", 400, `username: ${user.userId} is already taken`);
    throw e;
  }
}
